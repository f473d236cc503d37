// Package workerrun builds the Parcours Worker (host/cmd/parcours-worker)
// as `make worker` does and runs it under the pinned workerd on loopback:
// the one way TestWorker, TestWorkerSharedState and `make bench`
// (host/cmd/parcours-bench) build and start it.
package workerrun

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/internal/syncbuf"
)

// Modules are the Worker's modules besides parcours.wasm, copied from the
// command's directory by Build.
var Modules = []string{"worker.mjs", "state.mjs", "assets.mjs"}

// Build builds the Worker of the command in src (the directory of
// host/cmd/parcours-worker) into dir as `make worker` does: parcours.wasm
// (GOOS=js GOARCH=wasm, the tag parcours_nocompress, -trimpath, -s -w),
// the modules of Modules and Go's wasm_exec.js. config.json, assets.json
// and workerd.capnp are the caller's (WriteCapnp). It returns the Wasm's
// path.
func Build(src, dir string) (string, error) {
	wasm, err := filepath.Abs(filepath.Join(dir, "parcours.wasm"))
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-tags", "parcours_nocompress", "-trimpath", "-ldflags=-s -w", "-o", wasm, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the Worker: %v\n%s", err, out)
	}
	files := map[string]string{filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"): "wasm_exec.js"}
	for _, m := range Modules {
		files[filepath.Join(src, m)] = m
	}
	for from, to := range files {
		b, err := os.ReadFile(from)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			return "", err
		}
	}
	return wasm, nil
}

// Workerd returns the workerd pinned by src's package-lock.json, or an
// error saying how to install it.
func Workerd(src string) (string, error) {
	workerd, err := filepath.Abs(filepath.Join(src, "node_modules", ".bin", "workerd"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(workerd); err != nil {
		return "", fmt.Errorf("workerd is not installed: run `npm ci` in %s (needs npm): %w", src, err)
	}
	return workerd, nil
}

// WriteCapnp writes dir/workerd.capnp: src's workerd.capnp (the one of
// `make worker-dev`) with the modules and config.json of dir, the static
// assets of the directory assets, listening on addr, and bindings (capnp
// binding entries, such as `(name = "SECRET", text = "…")`) added.
func WriteCapnp(src, dir, assets, addr string, bindings ...string) error {
	capnp, err := os.ReadFile(filepath.Join(src, "workerd.capnp"))
	if err != nil {
		return err
	}
	conf := string(capnp)
	for _, r := range [][2]string{{"../../../build/worker-assets", assets}, {"../../../build/worker/", ""}, {"127.0.0.1:8787", addr}} {
		if !strings.Contains(conf, r[0]) {
			return fmt.Errorf("%s/workerd.capnp: no %q to replace", src, r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	const assetsBinding = `(name = "ASSETS", service = "assets"),`
	if len(bindings) > 0 {
		if !strings.Contains(conf, assetsBinding) {
			return fmt.Errorf("%s/workerd.capnp: no %s to add bindings after", src, assetsBinding)
		}
		conf = strings.Replace(conf, assetsBinding, assetsBinding+" "+strings.Join(bindings, ", ")+",", 1)
	}
	return os.WriteFile(filepath.Join(dir, "workerd.capnp"), []byte(conf), 0o644)
}

// Process is workerd running.
type Process struct {
	cmd  *exec.Cmd
	logs *syncbuf.Buffer
}

// Start runs workerd (see Workerd) on dir's workerd.capnp and waits, 30 s
// at most, until each of urls answers GET / (any status). On failure the
// error carries workerd's output.
func Start(workerd, dir string, urls ...string) (*Process, error) {
	p := &Process{logs: &syncbuf.Buffer{}}
	p.cmd = exec.Command(workerd, "serve", "workerd.capnp")
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	for _, u := range urls {
		deadline := time.Now().Add(30 * time.Second)
		for {
			r, err := http.Get(u + "/")
			if err == nil {
				r.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				p.Stop()
				return nil, fmt.Errorf("workerd did not answer on %s: %v\n%s", u, err, p.Logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return p, nil
}

// Pid is workerd's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Logs is workerd's output so far.
func (p *Process) Logs() string { return p.logs.String() }

// Stop ends workerd and waits for it.
func (p *Process) Stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait() // killed: its exit status says so
}
