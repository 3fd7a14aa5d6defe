// Package cartridge owns what is specific to a Python web application: its
// configuration from flags and environment (OpenShift's names included), the
// detection of its WSGI entry point, and the catalog of servers that can run
// it — each server's argv, signal map, socket handoff and quirks — from which
// it builds a control.Spec.
package cartridge
