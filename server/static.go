package server

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/gearctl/gearctl/control"
)

// Static files (--static URL=DIR) are served by the server itself where it
// can (uWSGI, Apache, mod_wsgi-express), else by the static wrapper of the
// runner's loader section (gunicorn, wsgiref), and every server answers
// the same: no way out of DIR (dot segments, encoded ones included,
// backslashes, NULs, symlinks to outside), no directory listings, 404 for
// anything under URL that is not served.

// Static is one URL prefix served from a directory (--static URL=DIR).
type Static struct {
	// URL is the prefix, starting and not ending with "/" ("/static").
	URL string
	// Dir is the absolute directory it is served from, symlinks resolved.
	Dir string
}

const staticForms = "URL=DIR, DIR an existing directory and URL a path such as /static of letters, digits and ._~-/"

// defaultStatic is OpenShift's: the python cartridge served wsgi/static at
// /static.
var defaultStatic = Static{URL: "/static", Dir: filepath.Join("wsgi", "static")}

// parseStatic checks the --static values against the application directory.
// Without any, wsgi/static is served at /static where it exists.
func parseStatic(chdir string, values []string) ([]Static, error) {
	if len(values) == 0 {
		if dir, err := staticDir(chdir, defaultStatic.Dir); err == nil {
			return []Static{{URL: defaultStatic.URL, Dir: dir}}, nil
		}
		return nil, nil
	}
	var out []Static
	for _, v := range values {
		bad := func(msg string) error {
			return &InputError{Flag: "--static", Value: v, Msg: msg, Accepted: staticForms}
		}
		url, dir, ok := strings.Cut(v, "=")
		if !ok || dir == "" {
			return nil, bad("not URL=DIR")
		}
		url, err := staticURL(url)
		if err != nil {
			return nil, bad(err.Error())
		}
		if slices.ContainsFunc(out, func(s Static) bool { return s.URL == url }) {
			return nil, bad(url + " is given twice")
		}
		if dir, err = staticDir(chdir, dir); err != nil {
			return nil, bad(err.Error())
		}
		out = append(out, Static{URL: url, Dir: dir})
	}
	return out, nil
}

// staticURL is url without its trailing slashes, when it can be written
// as is in an argv, an Apache directive and a Python literal, and names
// no dot segment.
func staticURL(url string) (string, error) {
	if !strings.HasPrefix(url, "/") {
		return "", fmt.Errorf("URL %q does not start with /", url)
	}
	url = strings.TrimRight(url, "/")
	if url == "" {
		return "", fmt.Errorf("URL / would hide the whole application")
	}
	for _, r := range url {
		if !(r < utf8.RuneSelf && (r == '/' || r == '.' || r == '_' || r == '~' || r == '-' ||
			'0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')) {
			return "", fmt.Errorf("URL %q has the character %q", url, r)
		}
	}
	for _, seg := range strings.Split(url[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("URL %q has an empty, . or .. segment", url)
		}
	}
	return url, nil
}

// staticDir is dir (relative to chdir) made absolute with its symlinks
// resolved, when it is a directory whose path servers' configurations can
// hold.
func staticDir(chdir, dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(chdir, dir)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(real); err == nil && !fi.IsDir() {
			return "", fmt.Errorf("%s is not a directory", dir)
		}
	}
	if err != nil {
		return "", fmt.Errorf("no such directory %s", dir)
	}
	// A Python literal of invalid UTF-8 would name another path, and a
	// control character would end an Apache directive.
	if !utf8.ValidString(real) || strings.IndexFunc(real, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("directory %q: its path has control characters or is not UTF-8", real)
	}
	return real, nil
}

// uwsgiStaticArgs make uWSGI serve c.Static: natively with --static-map,
// and through the shim's wrapper behind it, which answers what uWSGI
// leaves to the application (a missing file, one it refused, a method
// other than GET and HEAD) as the other servers do.
//
// uWSGI 2.0 accepts a file when its real path merely starts with the
// directory's (core/static.c): with /app/static mapped, a symlink in it to
// /app/static-keys/id is served. A directory with a sibling so named is
// left to the wrapper alone.
func uwsgiStaticArgs(c Config, s *control.Spec) []string {
	var args []string
	for _, m := range c.Static {
		if !hasPrefixSibling(m.Dir) {
			args = append(args, "--static-map", m.URL+"="+m.Dir)
		}
	}
	if len(args) > 0 {
		// uWSGI cuts the file name at a NUL (/static/a.css%00 serves
		// a.css); routes run before it serves a file.
		args = append(args, "--route", `\x00 break:404 Not Found`)
	}
	shim := shimPath(filesDir(c))
	s.Files[shim] = shimSource(c.App, c.Static...)
	return append(args, "--wsgi-file", shim, "--callable", "application")
}

// hasPrefixSibling reports whether dir's parent holds another entry whose
// name starts with dir's name, or cannot be read.
func hasPrefixSibling(dir string) bool {
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		return true
	}
	base := filepath.Base(dir)
	return slices.ContainsFunc(entries, func(e os.DirEntry) bool {
		return e.Name() != base && strings.HasPrefix(e.Name(), base)
	})
}

// wsgirefStaticArgs are the runner's options for c.Static, which its
// wrapper serves.
func wsgirefStaticArgs(c Config) []string {
	var args []string
	for _, m := range c.Static {
		args = append(args, "--static", m.URL+"="+m.Dir)
	}
	return args
}

// modWSGIExpressStaticArgs make mod_wsgi-express serve c.Static:
// --url-alias for each, and an included file that gives the directories
// the rules of gearctl's own Apache configuration (its own <Directory>
// follows symlinks anywhere and redirects directories to a listing
// attempt).
func modWSGIExpressStaticArgs(c Config, s *control.Spec) ([]string, error) {
	if len(c.Static) == 0 {
		return nil, nil
	}
	conf, err := apacheStaticConf(apacheStatic{Mounts: c.Static})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(c.Dir, "mod_wsgi-express-static-"+strconv.Itoa(c.Port)+".conf")
	s.Files[path] = conf
	var args []string
	for _, m := range c.Static {
		args = append(args, "--url-alias", m.URL, m.Dir)
	}
	return append(args, "--include-file", path), nil
}

// apacheStatic fills apacheStaticTemplate.
type apacheStatic struct {
	// Modules and TypesConfig are for gearctl's own configuration, which
	// loads only what it uses; Alias too (mod_wsgi-express writes its own
	// from --url-alias).
	Modules     []apacheModule
	TypesConfig string
	Alias       bool
	Mounts      []Static
}

var apacheStaticTemplate = template.Must(template.New("static").
	Funcs(template.FuncMap{"q": apacheQuote, "re": regexp.QuoteMeta}).Parse(`
# --static: served by Apache itself.
{{- range .Modules}}
<IfModule !{{.Name}}>
    LoadModule {{.Name}} {{q .Path}}
</IfModule>
{{- end}}
{{- if .TypesConfig}}
TypesConfig {{q .TypesConfig}}
{{- end}}
{{- range .Mounts}}
{{- if $.Alias}}
Alias {{q .URL}} {{q .Dir}}
{{- end}}
<Directory {{q .Dir}}>
    # No symlink is followed (Apache answers 403 for one), no listing, no
    # index, no .htaccess.
    Options None
    AllowOverride None
    <IfModule dir_module>
        DirectoryIndex disabled
        DirectorySlash Off
    </IfModule>
    Require all granted
    # Apache's file handler answers POST as GET.
    <If "!(%{REQUEST_METHOD} in {'GET', 'HEAD'})">
        Redirect 405
    </If>
</Directory>
# Apache removes dot segments before it maps a URL: {{.URL}}/../wsgi.py
# would reach the application as /wsgi.py. The other servers answer 404
# for a request sent under {{.URL}} that is not served from it; so does this.
<If "%{THE_REQUEST} =~ m#^\S+ {{re .URL}}(/|%2f)#i && %{REQUEST_URI} !~ m#^{{re .URL}}(/|$)#">
    Redirect 404
</If>
{{- end}}
`))

func apacheStaticConf(d apacheStatic) (string, error) {
	var b strings.Builder
	if err := apacheStaticTemplate.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// mimeTypesFiles are where systems keep the extension -> type table
// Apache's mod_mime reads (Debian's media-types, Fedora's mailcap).
var mimeTypesFiles = []string{"/etc/mime.types", "/etc/apache2/mime.types", "/etc/httpd/conf/mime.types"}

// apacheStaticSection is the part of gearctl's Apache configuration that
// serves c.Static, "" without any. modDir holds Apache's modules.
func apacheStaticSection(c Config, modDir string) (string, error) {
	if len(c.Static) == 0 {
		return "", nil
	}
	d := apacheStatic{Alias: true, Mounts: c.Static}
	for _, m := range []string{"alias", "mime"} {
		p := filepath.Join(modDir, "mod_"+m+".so")
		if !fileExists(p) {
			return "", fmt.Errorf("--static needs %s: %w", p, ErrNotInstalled)
		}
		d.Modules = append(d.Modules, apacheModule{m + "_module", p})
	}
	for _, p := range mimeTypesFiles {
		if fileExists(p) {
			d.TypesConfig = p
			break
		}
	}
	if d.TypesConfig == "" {
		return "", fmt.Errorf("--static needs a mime.types file for Apache (looked for %s; Debian: apt-get install media-types): %w",
			strings.Join(mimeTypesFiles, ", "), ErrNotInstalled)
	}
	return apacheStaticConf(d)
}
