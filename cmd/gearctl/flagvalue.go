package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
)

// gearctl parses every flag value that can be wrong itself, so that a bad
// one is told by its name and what it accepts from a typed error rather
// than from the parser's prose: urfave and Go's flag package only format
// a refusal into a message.

// badValue is a flag value, from the command line or a variable, that its
// flag does not accept.
type badValue struct {
	flag, value, accepted string
	// env is the variable the value came from; "" for the command line.
	env string
}

func (e *badValue) Error() string {
	if e.env != "" {
		return fmt.Sprintf("%s=%q (for --%s): not accepted; accepted: %s", e.env, e.value, e.flag, e.accepted)
	}
	return fmt.Sprintf("--%s %q: not accepted; accepted: %s", e.flag, e.value, e.accepted)
}

// typedValue is a flag.Value of type T that keeps its last refusal.
type typedValue[T any] struct {
	v        T
	parse    func(string) (T, error)
	accepted string
	name     string
	bad      *badValue
}

func (v *typedValue[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		v.bad = &badValue{flag: v.name, value: s, accepted: v.accepted}
		return v.bad
	}
	v.v = x
	return nil
}

// String is the value as urfave's Int, Duration and Bool lookups parse it
// back, and as help shows the default.
func (v *typedValue[T]) String() string { return fmt.Sprint(v.v) }

// IsBoolFlag lets a bool flag stand alone (--now), as Go's flag package
// asks of a Value.
func (v *typedValue[T]) IsBoolFlag() bool {
	_, ok := any(v.v).(bool)
	return ok
}

// typedFlag is a flag whose value gearctl parses; c.Int, c.Duration and
// c.Bool read it as they read urfave's own.
type typedFlag[T any] struct {
	cli.GenericFlag
	val *typedValue[T]
}

// typed makes the flag f of type T with default def, parsed by parse.
func typed[T any](f cli.GenericFlag, def T, parse func(string) (T, error), accepted string) *typedFlag[T] {
	v := &typedValue[T]{v: def, parse: parse, accepted: accepted, name: f.Name}
	f.Value = v
	return &typedFlag[T]{GenericFlag: f, val: v}
}

// Apply reads the flag's variables, as urfave's own flags do, and turns a
// refusal of one into a *badValue naming it.
func (f *typedFlag[T]) Apply(set *flag.FlagSet) error {
	if err := f.GenericFlag.Apply(set); err != nil {
		bad := *f.val.bad
		bad.env = firstSet(f.EnvVars)
		return &bad
	}
	return nil
}

// TakesValue is false for a bool: help shows --now, not --now value.
func (f *typedFlag[T]) TakesValue() bool { return !f.val.IsBoolFlag() }

func (f *typedFlag[T]) refused() *badValue { return f.val.bad }

// firstSet is the first of vars that the environment has, the one urfave
// reads a flag from.
func firstSet(vars []string) string {
	for _, v := range vars {
		if _, ok := os.LookupEnv(v); ok {
			return v
		}
	}
	return ""
}

// The accepted forms of gearctl's typed flags.
const (
	acceptedPort     = "a port number, 1 to 65535"
	acceptedNumber   = "a whole number"
	acceptedDuration = "a duration such as 30s, 1m30s or 2m"
	acceptedBool     = "true or false"
)

func intFlag(f cli.GenericFlag, def int, accepted string) cli.Flag {
	return typed(f, def, strconv.Atoi, accepted)
}

func durationFlag(f cli.GenericFlag, def time.Duration) cli.Flag {
	return typed(f, def, time.ParseDuration, acceptedDuration)
}

func boolFlag(f cli.GenericFlag, def bool) cli.Flag {
	return typed(f, def, strconv.ParseBool, acceptedBool)
}

// String is the flag's help line; GenericFlag's own would ignore
// TakesValue above.
func (f *typedFlag[T]) String() string { return cli.FlagStringer(f) }

// setDefaultText sets what help shows as the default.
func (f *typedFlag[T]) setDefaultText(s string) { f.DefaultText = s }
