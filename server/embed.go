package server

import (
	"debug/elf"
	"fmt"
)

// embeddedVersion is the major.minor of the Python that a server's module
// (uWSGI's python3 plugin, mod_wsgi.so) is built for, read from the
// libpython it links: that interpreter is loaded into the server, whatever
// --python says. "" when it links none (a static build).
func embeddedVersion(module string) string {
	f, err := elf.Open(module)
	if err != nil {
		return ""
	}
	defer f.Close()
	libs, _ := f.ImportedLibraries()
	for _, l := range libs {
		if m := libpythonRE.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return ""
}

// embedding is how a server that embeds Python (uWSGI, mod_wsgi) serves
// c's interpreter: the home its Python is given, if any, and what status
// says runs the application.
type embedding struct {
	home        string
	interpreter string
}

// embedFor checks that the Python embedded in server (what, as the user
// knows it; built for version, major.minor, "" when unknown) can run c's
// application, and says with which home. A virtualenv becomes the home,
// as its site-packages are what the user chose. A plain interpreter other
// than systemPython becomes the home too, by its prefix, so that its
// standard library and site-packages are the ones used; systemPython is
// the embedded interpreter's own installation and needs none. A different
// major.minor is refused: the embedded interpreter cannot run another
// version's standard library, nor extension modules built for it.
func embedFor(c Config, what, version string) (embedding, error) {
	var have, home string
	switch {
	case c.Venv != "":
		home, have = c.Venv, venvVersion(c.Venv)
	case samePython(c.Python, systemPython):
		have = nameVersion(c.Python)
	}
	if have == "" {
		in, err := probe(c)
		if err != nil {
			return embedding{}, err
		}
		have = in.version
		if c.Venv == "" && !samePython(c.Python, systemPython) {
			home = in.prefix
		}
	}
	if version != "" && minor(have) != version {
		value, chosen, fix := c.Python, "an interpreter", "a virtualenv made with python"+version
		if c.Venv != "" {
			value, chosen, fix = c.Venv, "a virtualenv", "recreate it with python"+version
		}
		return embedding{}, &InputError{Flag: "--python", Value: value,
			Msg:      fmt.Sprintf("%s of Python %s, but %s embeds Python %s, which cannot run it", chosen, have, what, version),
			Accepted: fix + ", or --server gunicorn or wsgiref, which run the interpreter itself"}
	}
	detail := what
	if home != "" {
		detail += ", home " + home
	}
	if version == "" {
		return embedding{home, "embedded Python of unknown version (" + detail + ")"}, nil
	}
	return embedding{home, "embedded Python " + version + " (" + detail + ")"}, nil
}
