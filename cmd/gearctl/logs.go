package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/urfave/cli/v2"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "the server's output (and the supervisor's lines) from server.log",
		Flags: []cli.Flag{
			intFlag(cli.GenericFlag{Name: "lines", Aliases: []string{"n"}, Usage: "how many of the last lines"}, 20, acceptedNumber),
			boolFlag(cli.GenericFlag{Name: "follow", Aliases: []string{"f"}, Usage: "go on printing lines as they come, across rotations"}, false),
		},
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
			if err != nil {
				return err
			}
			if c.Int("lines") < 0 {
				return usageErrorf("--lines %d: out of range; accepted: 0 or more", c.Int("lines"))
			}
			lines, err := control.TailLines(g.ServerLog(), c.Int("lines"))
			if err != nil {
				return exitWith(1, "%v", err)
			}
			for _, l := range lines {
				fmt.Fprintln(c.App.Writer, l)
			}
			if !c.Bool("follow") {
				return nil
			}
			return follow(c, g.ServerLog())
		},
	}
}

// follow prints what is appended to path from its current end, and
// reopens it when it is rotated (a new file at the same path) after
// draining the old one, so no line is skipped at rotation. Only whole lines
// are printed.
func follow(c *cli.Context, path string) error {
	f, err := os.Open(path)
	if err != nil && !os.IsNotExist(err) {
		return exitWith(1, "%v", err)
	}
	if f != nil {
		f.Seek(0, io.SeekEnd)
	}
	var pending []byte
	buf := make([]byte, 64<<10)
	for {
		for f != nil {
			n, _ := f.Read(buf)
			if n == 0 {
				break
			}
			pending = append(pending, buf[:n]...)
			if i := bytes.LastIndexByte(pending, '\n'); i >= 0 {
				c.App.Writer.Write(pending[:i+1])
				pending = append([]byte(nil), pending[i+1:]...)
			}
		}
		if rotated(f, path) {
			if f != nil {
				f.Close()
			}
			f, _ = os.Open(path)
			continue
		}
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rotated reports whether path now names another file than f.
func rotated(f *os.File, path string) bool {
	now, err := os.Stat(path)
	if err != nil {
		return false
	}
	if f == nil {
		return true
	}
	was, err := f.Stat()
	return err == nil && !os.SameFile(was, now)
}
