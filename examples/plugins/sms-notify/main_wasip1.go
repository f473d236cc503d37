//go:build wasip1

package main

// main is empty: a plugin is a WASI reactor; its handlers are registered by
// init and called by the host through the exports of sdk/plugin.
func main() {}
