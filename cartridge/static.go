package cartridge

// Static is one URL prefix served from a directory (--static URL=DIR).
type Static struct {
	// URL is the prefix, starting and not ending with "/" ("/static").
	URL string
	// Dir is the absolute directory it is served from.
	Dir string
}

// parseStatic checks the --static values against the application directory.
// TODO(static): validation, the wsgi/static default.
func parseStatic(chdir string, values []string) ([]Static, error) {
	return nil, nil
}
