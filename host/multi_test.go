package host_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parcours-sante/parcours/host"
	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// downBackend is an establishment whose backend does not answer.
type downBackend struct {
	portal.Booking
	portal.Directory
}

func (downBackend) Appointments(context.Context) ([]portal.Appointment, error) {
	return nil, portal.Errorf(portal.ErrBackendUnavailable, "connection refused")
}

func (downBackend) DemoPatients(context.Context) ([]portal.Patient, error) {
	return nil, portal.Errorf(portal.ErrBackendUnavailable, "connection refused")
}

func (downBackend) Patient(_ context.Context, id string) (portal.Patient, error) {
	return portal.Patient{}, portal.Errorf(portal.ErrNotFound, "patient %q", id)
}

// TestAppointmentsWithAnEstablishmentDown: behind several establishments,
// one backend down leaves its part out of the patient's appointments,
// named in "unavailable", and the others' are still listed; the client
// returns them with a PartialError.
func TestAppointmentsWithAnEstablishmentDown(t *testing.T) {
	th := newTestHostWith(t, func(cfg *hostConfig) {
		store := cfg.Booking.(*sqlite.Store)
		b, err := multi.New(multi.Config{Establishments: []multi.Establishment{
			{ID: sqlite.DemoEstablishment, Booking: store, Directory: store},
			{ID: "ch-nord", Booking: downBackend{}, Directory: downBackend{}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Booking, cfg.Directory = b, b
		cfg.Establishments = append(cfg.Establishments, host.Establishment{ID: "ch-nord"})
	})
	pat := patientSession(t, th, sqlite.DemoPatientCamilleDurand)
	r := pat.mustStatus(pat.do("GET", "/api/v1/appointments", "", ""), 200)
	var list client.AppointmentList
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Unavailable) != 1 || list.Unavailable[0] != "ch-nord" || list.Appointments == nil {
		t.Fatalf("answer %s", r.body)
	}
}
