// Command abi2 is a test plugin that claims ABI version 2.
package main

//go:wasmexport parcours_abi_version
func abiVersion() int32 { return 2 }

//go:wasmexport parcours_alloc
func alloc(size int32) uint32 { return 0 }

//go:wasmexport parcours_hooks
func hooks() uint64 { return 0 }

//go:wasmexport parcours_handle
func handle(hookPtr, hookLen, inPtr, inLen uint32) uint64 { return 0 }

func main() {}
