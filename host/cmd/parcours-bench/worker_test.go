package main

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, ok := cpuTime(os.Getpid()); ok {
			t.Error("cpuTime reported a time without /proc")
		}
		return
	}
	t0, ok := cpuTime(os.Getpid())
	if !ok {
		t.Fatal("no CPU time from /proc")
	}
	// Spin until the process has used at least two more clock ticks.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if t1, _ := cpuTime(os.Getpid()); t1 >= t0+20*time.Millisecond {
			return
		}
	}
	t.Error("the CPU time did not grow while the test spun")
}
