// Package pidfile owns a PID plus the process's start time, written
// atomically, guarded by flock; a stale or reused PID is detected, never
// signalled.
//
// A bare PID names a process only while that process lives: once it exits,
// the kernel hands the number to the next process that forks. A Record
// therefore pins a process by what cannot be reused: the boot it ran in
// (/proc/sys/kernel/random/boot_id) and the clock tick since boot at which
// it started (field 22 of /proc/PID/stat). Both are exact and never change
// for the life of a process, so two readers in different processes always
// agree on whether a record still names its process. The wall-clock start
// time (gopsutil's CreateTime, ms since the epoch) is recorded too, for
// humans and status output, but is not part of the identity: gopsutil
// derives it from an estimate of the boot time that can move by a second
// between readers in a container, and with every step of the wall clock.
//
// Invariants:
//   - Check and Open report ErrStale, and nothing is signalled, when the
//     recorded process has exited or its PID now names another process.
//   - Open takes a pidfd before it verifies the record, so a Process can only
//     ever signal the process that was verified, however soon after the check
//     it exits and its PID is reused.
//   - A reader never sees a partly written pidfile: Write replaces it by
//     rename.
//   - At most one holder has a Lock on a path at a time, and the kernel drops
//     it when the holder dies, however it dies.
//
// PID 0 and PID 1 are never recorded: 0 is not a process, and 1 is init,
// which a stale record must never lead anyone to signal.
//
// The on-disk format is one line of four fields separated by single spaces:
//
//	PID STARTTIME STARTTICKS BOOTID\n
//
// for example
//
//	4242 1795773687210 22012 0f3c5d8e-6a1b-4c2d-9e8f-7a6b5c4d3e2f
//
// PID and STARTTICKS are decimal, STARTTIME is milliseconds since the Unix
// epoch, and BOOTID is the kernel's boot id in its lowercase UUID form.
// Numbers have no sign and no leading zeros, so every valid file has exactly
// one spelling and Read followed by Write reproduces it byte for byte.
//
// The package is Linux only: it relies on /proc, pidfd_open(2) and
// pidfd_send_signal(2) (Linux 5.3 or later).
package pidfile
