// Package cartridge owns the OpenShift cartridge contract around a gear:
// the application's action hooks, its markers, the build action (a
// virtualenv and pip), and the gear's OpenShift env directories.
package cartridge
