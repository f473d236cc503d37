package fhir_test

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/parcours-sante/parcours/host/backend/fhir/fhirtest"
)

// One FHIR test server per test binary: starting node costs about two
// seconds, so the tests that need a server share one, started by the first
// of them and stopped by TestMain. Each fixture writes its own resources
// under fresh random ids, so tests never see each other's data.

func TestMain(m *testing.M) {
	code := m.Run()
	// Node's server waits for open keep-alive connections to end.
	testTransport.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	shared.stop()
	os.Exit(code)
}

var shared server

type server struct {
	once     sync.Once
	base     string
	skip     string // why the server cannot run here
	fatal    string // why it failed to start
	cleanups []func()
}

// serverURL returns the base URL of the shared server, starting it on first
// use; without node or the npm packages it skips t, as fhirtest.Start does.
func serverURL(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		tb := &mainTB{s: &shared}
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopStart); !ok {
					panic(r)
				}
			}
		}()
		shared.base = fhirtest.Start(tb)
	})
	switch {
	case shared.fatal != "":
		t.Fatal(shared.fatal)
	case shared.skip != "":
		t.Skip(shared.skip)
	}
	return shared.base
}

func (s *server) stop() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}

// mainTB is the testing.TB that fhirtest.Start gets outside any one test,
// so that the server outlives the test that started it: cleanups run at
// the end of TestMain, and a skip or failure stops Start and is reported by
// every test that asks for the server. Start calls only the methods below;
// the embedded nil TB provides the rest of the interface.
type mainTB struct {
	testing.TB
	s *server
}

// stopStart ends fhirtest.Start where a real TB's Skip or Fatal would end
// the test's goroutine.
type stopStart struct{}

func (m *mainTB) Helper()             {}
func (m *mainTB) Cleanup(f func())    { m.s.cleanups = append(m.s.cleanups, f) }
func (m *mainTB) Logf(string, ...any) {}
func (m *mainTB) Skipf(format string, args ...any) {
	m.s.skip = fmt.Sprintf(format, args...)
	panic(stopStart{})
}
func (m *mainTB) Fatalf(format string, args ...any) {
	m.s.fatal = fmt.Sprintf(format, args...)
	panic(stopStart{})
}
func (m *mainTB) Fatal(args ...any) {
	m.s.fatal = fmt.Sprint(args...)
	panic(stopStart{})
}
