package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Demo data loaded by Seed. Every name is fictional.
const (
	// DemoEstablishment is the id of the demo establishment, "CHU Exemple".
	DemoEstablishment = "chu-exemple"
	// DemoTimeZone is the demo establishment's time zone.
	DemoTimeZone = "Europe/Paris"

	// Services of the demo establishment, in display order.
	ServiceMaternite     = "maternite"
	ServiceDiabetologie  = "diabetologie"
	ServiceConsultations = "consultations"

	// Demo patients, flagged demo (see Store.DemoPatients).
	DemoPatientCamilleDurand = "pat-camille-durand"
	DemoPatientLucasBernard  = "pat-lucas-bernard"
	DemoPatientInesMoreau    = "pat-ines-moreau"
)

// Demo schedule: SeedDays days from the seed date, Monday to Friday, slots of
// SlotLength from 09:00 to 12:00 and from 14:00 to 17:00 local time, for every
// practitioner of every demo service.
const (
	SeedDays   = 14
	SlotLength = 30 * time.Minute
)

type demoPractitioner struct {
	id, name, roleFR, roleEN string
}

type demoService struct {
	id, nameFR, nameEN string
	practitioners      []demoPractitioner
}

var demoServices = []demoService{
	{ServiceMaternite, "Maternité", "Maternity", []demoPractitioner{
		{"pr-claire-martin", "Claire Martin", "Sage-femme", "Midwife"},
		{"pr-sophie-lefebvre", "Sophie Lefebvre", "Sage-femme", "Midwife"},
		{"pr-antoine-girard", "Antoine Girard", "Gynécologue-obstétricien", "Obstetrician-gynaecologist"},
	}},
	{ServiceDiabetologie, "Diabétologie", "Diabetology", []demoPractitioner{
		{"pr-julien-roux", "Julien Roux", "Diabétologue", "Diabetologist"},
		{"pr-nathalie-fournier", "Nathalie Fournier", "Infirmière en éducation thérapeutique", "Diabetes education nurse"},
	}},
	{ServiceConsultations, "Consultations externes", "Outpatient consultations", []demoPractitioner{
		{"pr-marc-lambert", "Marc Lambert", "Médecin généraliste", "General practitioner"},
		{"pr-helene-faure", "Hélène Faure", "Médecin généraliste", "General practitioner"},
	}},
}

var demoPatients = []struct {
	id, given, family string
}{
	{DemoPatientCamilleDurand, "Camille", "Durand"},
	{DemoPatientLucasBernard, "Lucas", "Bernard"},
	{DemoPatientInesMoreau, "Inès", "Moreau"},
}

// demoPeriods are the daily opening hours, local time, as [start, end) hours.
var demoPeriods = [][2]int{{9, 12}, {14, 17}}

// Seed loads the fictional demo data: the establishment DemoEstablishment,
// its three services and their practitioners, the demo patients, and the
// free slots of the SeedDays days starting on now's date in DemoTimeZone.
//
// Seed is idempotent and runs in one transaction. Seeding again never
// duplicates anything; seeding on a later day adds the days that came into
// range. Slot ids are deterministic, "sl-<practitioner>-<YYYYMMDDTHHMM>" in
// local time, so existing slots and their bookings are kept as they are. Slots
// already in the past when seeded are stored but never offered.
func (s *Store) Seed(ctx context.Context, now time.Time) error {
	loc, err := s.location(DemoTimeZone)
	if err != nil {
		return dbError(ctx, "seed", err)
	}
	return s.write(ctx, "seed", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO establishments (id, name, time_zone) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone`,
			DemoEstablishment, "CHU Exemple", DemoTimeZone); err != nil {
			return err
		}
		for i, sv := range demoServices {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO services (establishment, id, name_fr, name_en, position) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (establishment, id) DO UPDATE
				SET name_fr = excluded.name_fr, name_en = excluded.name_en, position = excluded.position`,
				DemoEstablishment, sv.id, sv.nameFR, sv.nameEN, i+1); err != nil {
				return err
			}
			for _, p := range sv.practitioners {
				if _, err := tx.ExecContext(ctx, `
					INSERT INTO practitioners (id, name, role_fr, role_en) VALUES (?, ?, ?, ?)
					ON CONFLICT (id) DO UPDATE
					SET name = excluded.name, role_fr = excluded.role_fr, role_en = excluded.role_en`,
					p.id, p.name, p.roleFR, p.roleEN); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `
					INSERT OR IGNORE INTO service_practitioners (establishment, service, practitioner) VALUES (?, ?, ?)`,
					DemoEstablishment, sv.id, p.id); err != nil {
					return err
				}
			}
		}
		for _, p := range demoPatients {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO patients (id, given_name, family_name, demo) VALUES (?, ?, ?, 1)
				ON CONFLICT (id) DO UPDATE
				SET given_name = excluded.given_name, family_name = excluded.family_name, demo = 1`,
				p.id, p.given, p.family); err != nil {
				return err
			}
		}
		// Slots go in by batches of seedBatch rows: one statement per row
		// would make seeding ten times slower.
		slots := demoSlots(now, loc)
		for len(slots) > 0 {
			n := min(len(slots), seedBatch)
			if err := insertSlots(ctx, tx, slots[:n]); err != nil {
				return err
			}
			slots = slots[n:]
		}
		return nil
	})
}

// seedBatch is the number of slots inserted by one statement, well within
// SQLite's limit of 32766 bound parameters.
const seedBatch = 200

// insertSlots inserts slots unless they exist.
func insertSlots(ctx context.Context, tx *sql.Tx, slots []seedSlot) error {
	var q strings.Builder
	q.WriteString(`INSERT OR IGNORE INTO slots (id, establishment, service, practitioner, start_utc, end_utc) VALUES `)
	args := make([]any, 0, 6*len(slots))
	for i, sl := range slots {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, sl.id, DemoEstablishment, sl.service, sl.practitioner, sl.start.Unix(), sl.end.Unix())
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

type seedSlot struct {
	id, service, practitioner string
	start, end                time.Time
}

// demoSlots returns the demo schedule of the SeedDays days from now's date
// in loc.
func demoSlots(now time.Time, loc *time.Location) []seedSlot {
	y, m, d := now.In(loc).Date()
	var out []seedSlot
	for day := range SeedDays {
		date := time.Date(y, m, d+day, 0, 0, 0, 0, loc)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, sv := range demoServices {
			for _, p := range sv.practitioners {
				for _, period := range demoPeriods {
					open := time.Date(date.Year(), date.Month(), date.Day(), period[0], 0, 0, 0, loc)
					closing := time.Date(date.Year(), date.Month(), date.Day(), period[1], 0, 0, 0, loc)
					for start := open; start.Before(closing); start = start.Add(SlotLength) {
						out = append(out, seedSlot{
							id:           slotID(p.id, start),
							service:      sv.id,
							practitioner: p.id,
							start:        start,
							end:          start.Add(SlotLength),
						})
					}
				}
			}
		}
	}
	return out
}

// slotID is the deterministic id of a demo slot: "sl-", the practitioner's id
// without its "pr-" prefix, and the local start time. A practitioner holds at
// most one slot at a time, so the id is unique.
func slotID(practitioner string, start time.Time) string {
	return fmt.Sprintf("sl-%s-%s", strings.TrimPrefix(practitioner, "pr-"), start.Format("20060102T1504"))
}
