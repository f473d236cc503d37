package fhir_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/tidwall/gjson"
)

// faults is a RoundTripper in front of the test server that lets a test
// break chosen interactions.
type faults struct {
	mu    sync.Mutex
	fault func(r *http.Request) fault // nil: no fault
	hits  atomic.Int64                // faulty interactions seen
}

type fault int

const (
	pass      fault = iota
	refuse          // answer 422 business-rule without reaching the server
	down            // answer 503 without reaching the server
	lostReply       // reach the server, then lose its answer
)

func (f *faults) set(fn func(r *http.Request) fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fn
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	fn := f.fault
	f.mu.Unlock()
	what := pass
	if fn != nil {
		what = fn(r)
	}
	if what != pass {
		f.hits.Add(1)
	}
	switch what {
	case refuse:
		return synthetic(r, 422, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"business-rule","diagnostics":"no online booking for this patient"}]}`), nil
	case down:
		return synthetic(r, 503, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`), nil
	case lostReply:
		resp, err := testTransport.RoundTrip(r)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return nil, errors.New("connection reset by peer")
	}
	return testTransport.RoundTrip(r)
}

func synthetic(r *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/fhir+json"}},
		Body:    io.NopCloser(strings.NewReader(body)),
		Request: r,
	}
}

func appointmentCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Appointment")
}

// onServer returns, from the server itself, the status of slot and the
// statuses of the appointments that reference it.
func onServer(t *testing.T, base, slot string) (string, []string) {
	t.Helper()
	var statuses []string
	body := get(t, base+"/Appointment?"+url.Values{"slot": {"Slot/" + slot}}.Encode())
	gjson.GetBytes(body, "entry.#.resource.status").ForEach(func(_, s gjson.Result) bool {
		statuses = append(statuses, s.String())
		return true
	})
	return gjson.GetBytes(get(t, base+"/Slot/"+slot), "status").String(), statuses
}

// TestBookCompensation breaks the Appointment create that follows the
// taking of the slot: a create that surely failed puts the slot back; a
// create whose answer was lost is found again (by the retried conditional
// create, or by the check before compensating) and the booking succeeds
// with exactly one appointment.
func TestBookCompensation(t *testing.T) {
	tests := []struct {
		name        string
		fault       fault
		retries     int
		want        portal.ErrorCode
		slot        string
		appointment []string
	}{
		{"Refused", refuse, 2, portal.ErrBookingRefused, "free", nil},
		{"ServerDownNotRetried", down, -1, portal.ErrBackendUnavailable, "free", nil},
		{"ServerDownRetried", down, 1, "", "busy", []string{"booked"}},
		{"LostReplyRetried", lostReply, 2, "", "busy", []string{"booked"}},
		{"LostReplyNotRetried", lostReply, -1, "", "busy", []string{"booked"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := serverURL(t)
			now := time.Now()
			rt := &faults{}
			b := newBackend(t, base, func() time.Time { return now }, func(c *fhir.Config) {
				c.Transport, c.Retries, c.RetryBackoff = rt, tc.retries, time.Millisecond
			})
			s := seed(t, b, now, 1)
			// Only the first create is broken: a retry goes through.
			var once atomic.Bool
			rt.set(func(r *http.Request) fault {
				if appointmentCreate(r) && once.CompareAndSwap(false, true) {
					return tc.fault
				}
				return pass
			})
			ctx := portal.WithSubject(t.Context(), portal.Subject{Patient: s.Patients[0]})
			a, err := b.Book(ctx, portal.BookRequest{Establishment: s.Establishment, Service: s.Service, Slot: s.ServiceSlots[0], IdempotencyKey: "compensation-1"})
			if portal.Code(err) != tc.want {
				t.Fatalf("Book: %v, want code %q", err, tc.want)
			}
			if n := rt.hits.Load(); n != 1 {
				t.Errorf("%d faulty creates, want 1", n)
			}
			slot, appointments := onServer(t, base, s.ServiceSlots[0])
			if slot != tc.slot || strings.Join(appointments, ",") != strings.Join(tc.appointment, ",") {
				t.Errorf("on the server: slot %s, appointments %q; want slot %s, appointments %q", slot, appointments, tc.slot, tc.appointment)
			}
			if err == nil && (a.Slot != s.ServiceSlots[0] || a.Status != portal.StatusBooked) {
				t.Errorf("Book = %+v", a)
			}
		})
	}
	t.Run("ServerDownRetriesOnlyConditionalCreates", func(t *testing.T) {
		base := serverURL(t)
		now := time.Now()
		rt := &faults{}
		b := newBackend(t, base, func() time.Time { return now }, func(c *fhir.Config) {
			c.Transport, c.Retries, c.RetryBackoff = rt, 2, time.Millisecond
		})
		s := seed(t, b, now, 1)
		rt.set(func(r *http.Request) fault {
			if appointmentCreate(r) {
				return down
			}
			return pass
		})
		ctx := portal.WithSubject(t.Context(), portal.Subject{Patient: s.Patients[0]})
		_, err := b.Book(ctx, portal.BookRequest{Establishment: s.Establishment, Service: s.Service, Slot: s.ServiceSlots[0], IdempotencyKey: "compensation-2"})
		if portal.Code(err) != portal.ErrBackendUnavailable || rt.hits.Load() != 3 {
			t.Errorf("Book: %v after %d creates, want backend_unavailable after 3 (one and two retries)", err, rt.hits.Load())
		}
		if slot, _ := onServer(t, base, s.ServiceSlots[0]); slot != "free" {
			t.Errorf("slot %s after a failed booking, want free", slot)
		}
	})
}

// TestCancelRepairsSlot breaks the freeing of the slot during a
// cancellation: Cancel reports the failure, the appointment is cancelled
// and its slot still busy (never free under a booked appointment), and
// cancelling again frees it.
func TestCancelRepairsSlot(t *testing.T) {
	base := serverURL(t)
	now := time.Now()
	rt := &faults{}
	b := newBackend(t, base, func() time.Time { return now }, func(c *fhir.Config) { c.Transport = rt })
	s := seed(t, b, now, 1)
	ctx := portal.WithSubject(t.Context(), portal.Subject{Patient: s.Patients[0]})
	slot := s.ServiceSlots[0]
	a, err := b.Book(ctx, portal.BookRequest{Establishment: s.Establishment, Service: s.Service, Slot: slot, IdempotencyKey: "cancel-repair"})
	if err != nil {
		t.Fatal(err)
	}
	rt.set(func(r *http.Request) fault {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/Slot/"+slot) {
			return down
		}
		return pass
	})
	if _, err := b.Cancel(ctx, a.ID); portal.Code(err) != portal.ErrBackendUnavailable {
		t.Fatalf("Cancel with the slot update failing: %v, want backend_unavailable", err)
	}
	if st, as := onServer(t, base, slot); st != "busy" || strings.Join(as, ",") != "cancelled" {
		t.Fatalf("after the failed Cancel: slot %s, appointments %q; want busy and one cancelled", st, as)
	}
	rt.set(nil)
	c, err := b.Cancel(ctx, a.ID)
	if err != nil || c.Status != portal.StatusCancelled {
		t.Fatalf("second Cancel = %+v, %v", c, err)
	}
	if st, _ := onServer(t, base, slot); st != "free" {
		t.Errorf("after the second Cancel: slot %s, want free", st)
	}
}
