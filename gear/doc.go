// Package gear is the client side of one gear: what a command does to it,
// through its supervisor's control socket, or, when the supervisor died,
// through what its directory records — launch a supervisor and wait until
// the gear settles, ask for its status, stop it and whatever it left. It
// returns typed results and errors; the CLI and the cartridge actions
// print them. The directory itself (paths, lock, pidfiles) and the
// supervisor are package control's.
package gear
