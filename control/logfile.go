package control

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gearctl/gearctl/internal/relay"
	"github.com/gearctl/gearctl/pidfile"
)

// LogFile is a log that receives only whole lines and rotates by size:
// server.log, then server.log.1 … server.log.N. A line is never split
// across two files and never lost at rotation, because rotation happens
// between two writes, under the same lock.
type LogFile struct {
	path    string
	maxSize int64
	keep    int

	mu   sync.Mutex
	f    *os.File
	size int64

	// written and failed count for Stats without the lock, which a slow
	// write may hold.
	written, failed atomic.Uint64
}

// LogStats is what a LogFile has written since it was opened.
type LogStats struct {
	// Bytes is how much it wrote, across rotations.
	Bytes uint64
	// Errors counts the writes that failed (a full disk, a log directory
	// that cannot be written): their lines are lost.
	Errors uint64
}

// Stats returns what the log has written so far, for metrics.
func (l *LogFile) Stats() LogStats {
	return LogStats{Bytes: l.written.Load(), Errors: l.failed.Load()}
}

// OpenLogFile opens (appends to) path, creating its directory. A symlink
// or a file of another user at path is refused (pidfile.ErrUntrusted).
func OpenLogFile(path string, maxSize int64, keep int) (*LogFile, error) {
	l := &LogFile{path: path, maxSize: maxSize, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LogFile) open() error {
	// The directory may have been removed while the file was open; it is
	// this gear's to recreate.
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return err
	}
	f, err := pidfile.OpenAppend(l.path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends p, which holds whole lines, rotating between two lines
// where p would take the file past its size.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.write(p)
	l.written.Add(uint64(n))
	if err != nil {
		l.failed.Add(1)
	}
	return n, err
}

func (l *LogFile) write(p []byte) (int, error) {
	if l.f != nil && l.unlinked() {
		// Lines written now would go to a file nobody can read: the file or
		// its directory was removed (rm -rf logs/). Start a new one.
		l.f.Close()
		l.f = nil
	}
	if l.f == nil {
		// The last rotation could not reopen the file: try again, so a
		// log directory that was full or unwritable recovers by itself.
		if err := l.open(); err != nil {
			return 0, err
		}
	}
	written := 0
	for len(p) > 0 {
		part := p
		if l.size+int64(len(part)) > l.maxSize {
			// A run of lines that does not fit: the whole lines that do,
			// then the rest in the next file. A single line longer than
			// the size goes whole into a file of its own.
			i := 0
			if room := l.maxSize - l.size; room > 0 {
				i = bytes.LastIndexByte(p[:room], '\n') + 1
			}
			if i == 0 && l.size > 0 {
				if err := l.rotate(); err != nil {
					return written, err
				}
				continue
			}
			if i == 0 {
				i = bytes.IndexByte(p, '\n') + 1
			}
			if i > 0 {
				part = p[:i]
			}
		}
		n, err := l.f.Write(part)
		l.size += int64(n)
		written += n
		if err != nil {
			return written, err
		}
		p = p[len(part):]
	}
	return written, nil
}

// unlinked tells whether the open file has lost its last name.
func (l *LogFile) unlinked() bool {
	fi, err := l.f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 0
}

// Rotate starts a new file now (for tidy).
func (l *LogFile) Rotate() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rotate()
}

func (l *LogFile) rotate() error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if l.keep == 0 {
		os.Remove(l.path)
	}
	for i := l.keep; i >= 1; i-- {
		from := l.path
		if i > 1 {
			from = fmt.Sprintf("%s.%d", l.path, i-1)
		}
		os.Rename(from, fmt.Sprintf("%s.%d", l.path, i))
	}
	return l.open()
}

// Close closes the file.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// LogFiles lists a log and its rotated files, oldest first.
func LogFiles(path string) []string {
	var files []string
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.%d", path, i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		files = append([]string{p}, files...)
	}
	return append(files, path)
}

// TailLines returns the last n lines of a log, reading into rotated files
// when the current one holds fewer.
func TailLines(path string, n int) ([]string, error) {
	var lines []string
	files := LogFiles(path)
	for i := len(files) - 1; i >= 0 && len(lines) < n; i-- {
		f, err := os.Open(files[i])
		if err != nil {
			if i == len(files)-1 && !os.IsNotExist(err) {
				return nil, err
			}
			continue
		}
		var these []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), relay.MaxLine+1)
		for sc.Scan() {
			these = append(these, sc.Text())
			if len(these) > n {
				these = these[1:]
			}
		}
		f.Close()
		lines = append(these, lines...)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}
