// Command gearctl runs a Python web application's WSGI server and stays its
// parent: see README.md and the design page for the contract.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

func main() {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, c.App.Version) }
	os.Args = controlArgs(os.Args)
	os.Exit(exitStatus(newApp().Run(os.Args)))
}

// exitError carries a verb's exit status; its message, if any, is printed
// as one line.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ExitCode lets package cartridge's actions pass a verb's status on.
func (e *exitError) ExitCode() int { return e.code }

func exitWith(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// exitStatus prints err and maps it to the exit status: a verb's own, or 2
// for anything the command line parser rejected.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "gearctl: "+ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "gearctl: "+err.Error())
	return 2
}

func newApp() *cli.App {
	app := &cli.App{
		Name:    "gearctl",
		Usage:   "run a Python web application's WSGI server, and stay its parent",
		Version: versionLine(),
		// Completion scripts ask the binary what may come next.
		EnableBashCompletion: true,
		// --env values hold commas (ALLOWED_HOSTS=a,b): one flag, one value.
		DisableSliceFlagSeparator: true,
		Flags:                     globalFlags(),
		Commands: []*cli.Command{
			runCommand(),
			startCommand(),
			stopCommand(),
			restartCommand(),
			reloadCommand(),
			statusCommand(),
			listCommand(),
			logsCommand(),
			tidyCommand(),
			controlCommand(),
			shellCommand(),
			completionCommand(),
			manCommand(),
			versionCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				verb := c.Args().First()
				return usageErrorf("unknown verb %q%s; accepted: %s", verb, didYouMean(verb, commandNames(c.App.Commands)), verbs(c.App))
			}
			cli.ShowAppHelp(c)
			return &exitError{code: 2}
		},
		// Every error is printed once, as one line, by main.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
	}
	withGlobalFlags(app.Commands)
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onUsageError
		if cmd.Description == "" {
			cmd.Description = examples[cmd.Name]
		}
	}
	return app
}

func usageErrorf(format string, args ...any) error {
	return exitWith(2, format, args...)
}

// undefinedFlag starts Go's flag package's refusal of a flag no one
// declared; the package has no error type for it, and this text is part of
// its Go 1 compatibility.
const undefinedFlag = "flag provided but not defined: "

// onUsageError turns the parser's complaint into one line that names the
// flag or variable and what it accepts, instead of a page of help.
func onUsageError(c *cli.Context, err error, _ bool) error {
	where := "gearctl --help"
	if c.Command != nil && c.Command.Name != "" {
		where = "gearctl " + c.Command.FullName() + " --help"
	}
	var bad *badValue
	if errors.As(err, &bad) {
		return usageErrorf("%v", bad) // a variable's value
	}
	if bad := refused(c); bad != nil {
		return usageErrorf("%v", bad) // a value on the command line
	}
	if name, ok := strings.CutPrefix(err.Error(), undefinedFlag); ok {
		name = "--" + strings.TrimLeft(name, "-")
		flags := c.App.Flags
		if c.Command != nil {
			flags = append(flags, c.Command.Flags...)
		}
		return usageErrorf("%s: unknown flag%s (see '%s' for the accepted ones)", name, didYouMean(name, flagNames(flags)), where)
	}
	return usageErrorf("%v (see '%s')", err, where)
}

// refused is the value a typed flag of c's refused, nil when none did.
func refused(c *cli.Context) *badValue {
	flags := c.App.Flags
	if c.Command != nil {
		flags = append(flags, c.Command.Flags...)
	}
	for _, f := range flags {
		if tf, ok := f.(interface{ refused() *badValue }); ok && tf.refused() != nil {
			return tf.refused()
		}
	}
	return nil
}

func verbs(app *cli.App) string {
	var names []string
	for _, c := range app.Commands {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}
