package booking

import (
	"context"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// Snapshot is the data of the widget's first screen. The host computes it
// while rendering the first paint (Preload) and hands it to the browser in
// the document, so that the Wasm starts from the very state the patient
// already sees: no second fetch, no flash, the server's DOM is kept.
type Snapshot struct {
	Establishment portal.Establishment `json:"establishment"`
	Services      []portal.Service     `json:"services"`
	Patient       *portal.Patient      `json:"patient,omitempty"`
	DemoPatients  []portal.Patient     `json:"demo_patients,omitempty"`
	Service       string               `json:"service,omitempty"`
	Practitioner  string               `json:"practitioner,omitempty"`
	Window        time.Time            `json:"window"`
	Slots         []portal.Slot        `json:"slots,omitempty"`
}

// MaxPreloadSteps bounds the calls Preload makes (start, then the slots).
const MaxPreloadSteps = 4

// Preload runs the start of the flow on the server against b, as the
// browser would, and returns the snapshot of the resulting first screen. It
// returns nil when a call failed or ctx ended: the host then serves the
// loading skeleton and the browser loads everything itself.
func Preload(ctx context.Context, m *Model, b Backend) *Snapshot {
	cmd := m.Apply(Action{Kind: Start})
	var slots []portal.Slot
	for i := 0; cmd != nil; i++ {
		if i == MaxPreloadSteps || ctx.Err() != nil {
			return nil
		}
		a := cmd(ctx, b)
		if a.Kind == slotsLoaded {
			slots = a.slots
		}
		cmd = m.Apply(a)
	}
	if m.Err != "" || m.Loading {
		return nil
	}
	return &Snapshot{
		Establishment: portal.Establishment{ID: m.Establishment, Name: m.EstablishmentName},
		Services:      m.Services,
		Patient:       m.Patient,
		DemoPatients:  m.DemoPatients,
		Service:       m.Service,
		Practitioner:  m.Practitioner,
		Window:        m.Window,
		Slots:         slots,
	}
}

// Hydrate puts s into the model, as Preload left the server's model: the
// browser's first render then matches the server's HTML.
func (m *Model) Hydrate(s *Snapshot) {
	m.Loading = false
	m.EstablishmentName = s.Establishment.Name
	m.Services = s.Services
	m.Patient = s.Patient
	m.DemoPatients = s.DemoPatients
	if m.DemoChoice == "" && len(s.DemoPatients) > 0 {
		m.DemoChoice = s.DemoPatients[0].ID
	}
	if s.Service == "" || m.service(s.Service) == nil {
		m.Step, m.Service = StepService, ""
		return
	}
	m.Step = StepSlots
	m.Service = s.Service
	m.Practitioner = s.Practitioner
	m.Window = s.Window
	m.Days = groupByDay(s.Slots, s.Practitioner == "")
	m.Day = 0
}
