package main

import (
	"os"
	"os/exec"
	"syscall"

	"github.com/gearctl/gearctl/server"
	"github.com/urfave/cli/v2"
)

func shellCommand() *cli.Command {
	return &cli.Command{
		Name: "shell",
		Usage: "exec a shell, or the command after --, in the application's directory with its environment " +
			"(the virtualenv first on PATH): the way in when gearctl is a container's ENTRYPOINT",
		ArgsUsage: "[-- COMMAND ARGS...]",
		Flags:     pickFlags(appFlags(), "chdir", "python"),
		Action: func(c *cli.Context) error {
			argv, err := extraArgs(c)
			if err != nil {
				return err
			}
			in := server.Settings{Chdir: c.String("chdir"), Python: c.String("python"), Env: os.Environ()}
			app, err := in.AppEnv()
			if err != nil {
				return usageErrorf("%v", err)
			}
			if len(argv) == 0 {
				argv = []string{interactiveShell()}
			}
			// The command is looked up on the PATH it will have, so that
			// "python" is the virtualenv's.
			os.Setenv("PATH", app.Getenv("PATH"))
			path, err := exec.LookPath(argv[0])
			if err != nil {
				return usageErrorf("%s: not found on the application's PATH", argv[0])
			}
			if err := os.Chdir(app.Dir); err != nil {
				return exitWith(1, "%v", err)
			}
			// Not a login shell: a login shell's profile may set PATH anew
			// (Debian's /etc/profile does) and lose the virtualenv.
			err = syscall.Exec(path, argv, app.Env)
			return exitWith(126, "exec %s: %v", path, err)
		},
	}
}

// interactiveShell is $SHELL, else bash, else sh: containers seldom set
// SHELL.
func interactiveShell() string {
	if sh := os.Getenv("SHELL"); sh != "" {
		return sh
	}
	if _, err := exec.LookPath("bash"); err == nil {
		return "bash"
	}
	return "sh"
}

// pickFlags are the flags of fs named names, in fs's order.
func pickFlags(fs []cli.Flag, names ...string) []cli.Flag {
	var out []cli.Flag
	for _, f := range fs {
		for _, n := range names {
			if f.Names()[0] == n {
				out = append(out, f)
			}
		}
	}
	return out
}
