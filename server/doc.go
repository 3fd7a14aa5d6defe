// Package server owns the per-server knowledge: a gear's settings (from
// flags and environment, OpenShift's names included) resolved into a
// Config, the detection of the application's WSGI entry point and its
// interpreter, and the catalog of servers that can run it — each server's
// argv, signal map, socket handoff and quirks — from which it builds a
// control.Spec. Building is pure: the directories and files a Spec needs
// are made by Spec.Prepare when the supervisor spawns it.
package server
