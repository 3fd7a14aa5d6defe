package cartridge

import (
	"os"
	"path/filepath"
)

// MarkersDir holds an application's markers, relative to its directory:
// empty files whose presence switches a behaviour on, as on OpenShift.
const MarkersDir = ".openshift/markers"

// The markers gearctl honours.
const (
	// HotDeploy makes deploy reload the running server in place instead
	// of replacing it.
	HotDeploy = "hot_deploy"
	// ForceCleanBuild makes build recreate the virtualenv from nothing.
	ForceCleanBuild = "force_clean_build"
)

// Marker reports whether the application in dir has the marker name.
func Marker(dir, name string) bool {
	return isFile(filepath.Join(dir, MarkersDir, name))
}

// isFile reports whether path is a regular file, symlinks followed.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
