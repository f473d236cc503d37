package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
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

// TestDemoSession: the signed-in reads' headers carry the session of the
// patient signed in, and a refused sign-in is an error.
func TestDemoSession(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Seed(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{Booking: store, Directory: store, DemoSignIn: true,
		Establishments: []host.Establishment{{ID: sqlite.DemoEstablishment}}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	hd, err := demoSession(ctx, srv.URL, sqlite.DemoPatientLucasBernard)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/session", nil)
	req.Header = hd
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s client.SessionBody
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Patient == nil || s.Patient.ID != sqlite.DemoPatientLucasBernard {
		t.Errorf("session with the headers: %+v, %v", s, err)
	}
	if _, err := demoSession(ctx, srv.URL, "pat-nobody"); err == nil {
		t.Error("demo sign-in as an unknown patient: no error")
	}
}
