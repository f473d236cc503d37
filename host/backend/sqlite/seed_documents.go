package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/host/backend/sqlite/internal/pdfgen"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// Demo documents loaded by Seed (see seedDocuments). Every name and result
// is fictional.
const (
	// DemoDocumentBiopsy is Lucas Bernard's renal biopsy report, held back
	// (sensitive) until a practitioner of diabetology releases it.
	DemoDocumentBiopsy = "doc-demo-biopsie-renale"
	// DemoDocumentUltrasound is Camille Durand's first-trimester
	// ultrasound report, with its image.
	DemoDocumentUltrasound = "doc-demo-echographie-t1"
	// DemoLabReports is the number of Lucas Bernard's monthly lab reports,
	// a year of them, ids "doc-demo-bilan-01" (the oldest) to
	// "doc-demo-bilan-12".
	DemoLabReports = 12
)

// Analytes of the demo results (LOINC).
const (
	LOINCHbA1c      = "4548-4"  // Hemoglobin A1c/Hemoglobin.total in Blood
	LOINCGlucose    = "2345-7"  // Glucose [Mass/volume] in Serum or Plasma
	LOINCCreatinine = "14682-9" // Creatinine [Moles/volume] in Serum or Plasma
	LOINCHemoglobin = "718-7"   // Hemoglobin [Mass/volume] in Blood
)

// demoAnalyte is an analyte of the demo lab reports with its reference
// range.
type demoAnalyte struct {
	code      string
	display   portal.Text
	unit      string
	decimals  int
	low, high float64
}

var (
	analyteHbA1c      = demoAnalyte{LOINCHbA1c, portal.Text{FR: "Hémoglobine glyquée (HbA1c)", EN: "Glycated haemoglobin (HbA1c)"}, "%", 1, 4.0, 6.0}
	analyteGlucose    = demoAnalyte{LOINCGlucose, portal.Text{FR: "Glycémie à jeun", EN: "Fasting blood glucose"}, "g/L", 2, 0.70, 1.10}
	analyteCreatinine = demoAnalyte{LOINCCreatinine, portal.Text{FR: "Créatininémie", EN: "Serum creatinine"}, "µmol/L", 0, 64, 104}
	analyteHemoglobin = demoAnalyte{LOINCHemoglobin, portal.Text{FR: "Hémoglobine", EN: "Haemoglobin"}, "g/dL", 1, 11.5, 15.0}
	// In pregnancy, fasting glucose is abnormal from 0.92 g/L (gestational
	// diabetes screening).
	analyteGlucosePregnancy = demoAnalyte{LOINCGlucose, portal.Text{FR: "Glycémie à jeun", EN: "Fasting blood glucose"}, "g/L", 2, 0.70, 0.92}
)

// Lucas Bernard's year of monthly results, oldest first: an HbA1c coming
// down under treatment but above the range, a fasting glucose with one
// hypoglycaemia, a creatinine rising above the range (hence the biopsy).
var (
	demoHbA1c      = [DemoLabReports]float64{8.6, 8.4, 8.1, 8.3, 7.9, 7.6, 7.7, 7.4, 7.2, 7.3, 7.0, 6.9}
	demoGlucose    = [DemoLabReports]float64{1.52, 1.47, 1.38, 1.41, 1.30, 1.24, 1.27, 1.18, 0.62, 1.12, 1.06, 1.04}
	demoCreatinine = [DemoLabReports]float64{82, 85, 84, 88, 91, 90, 95, 99, 104, 109, 114, 121}
)

// demoDocument is a seeded document: what to file, when it was filed, and
// whether the patient has opened it.
type demoDocument struct {
	id      string
	doc     portal.NewDocument
	created time.Time
	seen    bool
}

// Laboratories and authors of the demo documents.
const (
	demoLab          = "Laboratoire de biologie médicale — CHU Exemple"
	demoPathologyLab = "Laboratoire d'anatomie et de cytologie pathologiques — CHU Exemple"
)

// seedDocuments files the demo documents that are not there yet, dated
// before now:
//   - Lucas Bernard (diabetology): DemoLabReports monthly lab reports
//     (HbA1c, fasting glucose, creatinine; some out of range; the latest
//     one new), a consultation report, a discharge letter of the day
//     hospital (new), and the renal biopsy report DemoDocumentBiopsy,
//     held back until a practitioner of diabetology releases it;
//   - Camille Durand (maternity): the ultrasound report
//     DemoDocumentUltrasound with its image (new), a prenatal consultation
//     report and a prenatal lab report;
//   - Inès Moreau (consultations): a consultation report in plain text.
//
// Each is a real file: PDF reports written by pdfgen, a PNG image. A
// document seeded before is left as it is (released, opened, whatever
// happened to it since): ids are fixed, and the files are only made for
// the documents missing.
func seedDocuments(ctx context.Context, tx *sql.Tx, now time.Time, loc *time.Location) error {
	for _, dd := range demoDocuments(now, loc) {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?)`, dd.id).Scan(&exists); err != nil {
			return err
		}
		if exists {
			continue
		}
		if err := dd.build(); err != nil {
			return err
		}
		if err := dd.doc.Validate(0); err != nil {
			return fmt.Errorf("demo document %s: %w", dd.id, err)
		}
		row := filingRow(dd.doc)
		row.id, row.created = dd.id, dd.created.Unix()
		if dd.seen {
			seen := dd.created.Add(26 * time.Hour).Unix()
			row.seen = &seen
		}
		if err := insertDocument(ctx, tx, row); err != nil {
			return fmt.Errorf("demo document %s: %w", dd.id, err)
		}
	}
	return nil
}

// demoDocuments returns the demo documents, without their files (see
// build), dated relative to now.
func demoDocuments(now time.Time, loc *time.Location) []*demoDocument {
	y, m, d := now.In(loc).Date()
	day := func(daysAgo, hour, minute int) time.Time {
		return time.Date(y, m, d-daysAgo, hour, minute, 0, 0, loc)
	}
	var out []*demoDocument
	add := func(id string, created time.Time, seen bool, nd portal.NewDocument) {
		nd.Establishment, nd.SourceID = DemoEstablishment, "seed-"+id
		if created.After(now) {
			created = now
		}
		out = append(out, &demoDocument{id: id, doc: nd, created: created, seen: seen})
	}

	// Lucas Bernard: a year of monthly results, the latest four days ago.
	for i := range DemoLabReports {
		monthsAgo := DemoLabReports - 1 - i
		sampled := time.Date(y, m-time.Month(monthsAgo), d-4, 8, 15, 0, 0, loc)
		obs := []portal.NewObservation{
			analyteHbA1c.observe(demoHbA1c[i], sampled),
			analyteGlucose.observe(demoGlucose[i], sampled),
			analyteCreatinine.observe(demoCreatinine[i], sampled),
		}
		add(fmt.Sprintf("doc-demo-bilan-%02d", i+1), sampled.Add(30*time.Hour), monthsAgo > 0, portal.NewDocument{
			Service: ServiceDiabetologie, Patient: DemoPatientLucasBernard, Type: portal.DocLabReport,
			Title: "Bilan biologique de suivi du diabète", Date: sampled, Author: demoLab, Observations: obs,
			File: portal.NewFile{Name: "bilan-" + sampled.Format("2006-01-02") + ".pdf"},
		})
	}
	add("doc-demo-consultation-diabeto", day(40, 17, 0), true, portal.NewDocument{
		Service: ServiceDiabetologie, Patient: DemoPatientLucasBernard, Type: portal.DocConsultationReport,
		Title: "Compte rendu de consultation de diabétologie", Date: day(40, 10, 30), Author: "Dr Julien Roux",
		File: portal.NewFile{Name: "consultation-diabetologie.pdf"},
	})
	add("doc-demo-lettre-hdj", day(2, 18, 0), false, portal.NewDocument{
		Service: ServiceDiabetologie, Patient: DemoPatientLucasBernard, Type: portal.DocDischargeLetter,
		Title: "Lettre de liaison — hôpital de jour de diabétologie", Date: day(3, 9, 0), Author: "Dr Julien Roux",
		File: portal.NewFile{Name: "lettre-de-liaison-hdj.pdf"},
	})
	add(DemoDocumentBiopsy, day(1, 16, 20), false, portal.NewDocument{
		Service: ServiceDiabetologie, Patient: DemoPatientLucasBernard, Type: portal.DocLabReport, Sensitive: true,
		Title: "Examen anatomopathologique — biopsie rénale", Date: day(6, 11, 0), Author: demoPathologyLab,
		File: portal.NewFile{Name: "anatomopathologie-biopsie-renale.pdf"},
	})

	// Camille Durand: the first-trimester follow-up.
	add(DemoDocumentUltrasound, day(9, 12, 0), false, portal.NewDocument{
		Service: ServiceMaternite, Patient: DemoPatientCamilleDurand, Type: portal.DocImagingReport,
		Title: "Échographie du premier trimestre", Date: day(10, 14, 30), Author: "Dr Antoine Girard",
		File: portal.NewFile{Name: "echographie-premier-trimestre.pdf"},
	})
	add("doc-demo-consultation-prenatale", day(10, 17, 0), true, portal.NewDocument{
		Service: ServiceMaternite, Patient: DemoPatientCamilleDurand, Type: portal.DocConsultationReport,
		Title: "Consultation prénatale du troisième mois", Date: day(10, 15, 15), Author: "Claire Martin, sage-femme",
		File: portal.NewFile{Name: "consultation-prenatale.pdf"},
	})
	prenatal := day(14, 8, 0)
	add("doc-demo-bilan-prenatal", prenatal.Add(28*time.Hour), true, portal.NewDocument{
		Service: ServiceMaternite, Patient: DemoPatientCamilleDurand, Type: portal.DocLabReport,
		Title: "Bilan prénatal du premier trimestre", Date: prenatal, Author: demoLab,
		Observations: []portal.NewObservation{
			analyteHemoglobin.observe(11.2, prenatal),
			analyteGlucosePregnancy.observe(0.86, prenatal),
		},
		File: portal.NewFile{Name: "bilan-prenatal.pdf"},
	})

	// Inès Moreau: a note in plain text.
	add("doc-demo-consultation-mg", day(30, 18, 0), true, portal.NewDocument{
		Service: ServiceConsultations, Patient: DemoPatientInesMoreau, Type: portal.DocConsultationReport,
		Title: "Compte rendu de consultation de médecine générale", Date: day(30, 9, 40), Author: "Dr Marc Lambert",
		File: portal.NewFile{Name: "consultation-medecine-generale.txt"},
	})
	return out
}

// observe returns a result of a at effective.
func (a demoAnalyte) observe(value float64, effective time.Time) portal.NewObservation {
	low, high := a.low, a.high
	return portal.NewObservation{
		Code: a.code, Display: a.display, Value: value, Decimals: a.decimals, Unit: a.unit,
		Low: &low, High: &high, Effective: effective,
	}
}

// frenchNumber writes v with decimals digits and a decimal comma.
func frenchNumber(v float64, decimals int) string {
	return strings.Replace(fmt.Sprintf("%.*f", decimals, v), ".", ",", 1)
}

// build makes the document's files.
func (dd *demoDocument) build() error {
	nd := &dd.doc
	patient := demoPatientName(nd.Patient)
	var body []pdfgen.Line
	switch {
	case nd.Type == portal.DocLabReport && len(nd.Observations) > 0:
		body = labReportLines(nd.Observations)
	case nd.Type == portal.DocImagingReport:
		body = ultrasoundLines()
		img, err := demoUltrasoundPNG()
		if err != nil {
			return err
		}
		nd.Images = []portal.NewFile{{Name: "echographie-12sa.png", ContentType: portal.ContentTypePNG, Content: img}}
	default:
		body = demoTexts[dd.id]
	}
	if strings.HasSuffix(nd.File.Name, ".txt") {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n%s\n\nPatient : %s\nDate : %s\nAuteur : %s\n\n", "CHU Exemple — Consultations externes", nd.Title,
			patient, nd.Date.Format("02/01/2006 15:04"), nd.Author)
		for _, l := range body {
			b.WriteString(l.Text + "\n")
		}
		b.WriteString("\nDocument fictif de démonstration.\n")
		nd.File.ContentType, nd.File.Content = portal.ContentTypeText, []byte(b.String())
		return nil
	}
	lines := []pdfgen.Line{
		{Text: "CHU Exemple", Size: 16, Bold: true},
		{Text: demoServiceName(nd.Service) + " — " + nd.Author, Size: 9},
		{Rule: true},
		{Text: nd.Title, Size: 13, Bold: true, Wrap: true, Before: 8},
		{Text: "Patient·e : " + patient, Before: 6},
		{Text: "Date : " + nd.Date.Format("02/01/2006 à 15:04")},
		{Text: "Auteur : " + nd.Author, Wrap: true},
		{Rule: true},
	}
	lines = append(lines, body...)
	lines = append(lines, pdfgen.Line{Text: "Document fictif, produit pour la démonstration de Parcours.", Size: 8, Before: 18})
	nd.File.ContentType = portal.ContentTypePDF
	nd.File.Content = pdfgen.Doc{
		Title: nd.Title, Author: nd.Author, Subject: "Document de démonstration (fictif)", Created: dd.created,
		Columns: []float64{0, 210, 290, 350, 440}, Footer: "CHU Exemple — " + nd.Title, Lines: lines,
	}.Bytes()
	return nil
}

func demoPatientName(id string) string {
	for _, p := range demoPatients {
		if p.id == id {
			return portal.Patient{GivenName: p.given, FamilyName: p.family}.DisplayName()
		}
	}
	return id
}

func demoServiceName(id string) string {
	for _, s := range demoServices {
		if s.id == id {
			return s.nameFR
		}
	}
	return id
}

// labReportLines is the table of a lab report: analyte, value, unit,
// reference range and a flag for values out of range.
func labReportLines(obs []portal.NewObservation) []pdfgen.Line {
	lines := []pdfgen.Line{
		{Text: "Prélèvement du " + obs[0].Effective.Format("02/01/2006 à 15:04") + " — sang veineux", Before: 6},
		{Cols: []string{"Analyse", "Résultat", "Unité", "Valeurs de référence", ""}, Bold: true, Before: 10},
	}
	for _, o := range obs {
		flag := ""
		switch portal.Interpret(o.Value, o.Low, o.High) {
		case portal.InterpretationHigh:
			flag = "élevé (H)"
		case portal.InterpretationLow:
			flag = "bas (L)"
		}
		lines = append(lines, pdfgen.Line{Cols: []string{o.Display.FR, frenchNumber(o.Value, o.Decimals), o.Unit,
			frenchNumber(*o.Low, o.Decimals) + " – " + frenchNumber(*o.High, o.Decimals), flag}})
	}
	return append(lines,
		pdfgen.Line{Text: "Résultats validés par le biologiste. Les valeurs hors des valeurs de référence sont signalées.", Size: 9, Before: 10, Wrap: true},
		pdfgen.Line{Text: "Codes LOINC : " + loincList(obs), Size: 8},
	)
}

func loincList(obs []portal.NewObservation) string {
	codes := make([]string, len(obs))
	for i, o := range obs {
		codes[i] = o.Code
	}
	return strings.Join(codes, ", ")
}

func paragraph(texts ...string) []pdfgen.Line {
	var out []pdfgen.Line
	for i, t := range texts {
		l := pdfgen.Line{Text: t, Wrap: true, Before: 4}
		if i == 0 {
			l.Before = 8
		}
		if strings.HasSuffix(t, " :") {
			l.Bold, l.Before = true, 10
		}
		out = append(out, l)
	}
	return out
}

func ultrasoundLines() []pdfgen.Line {
	return paragraph(
		"Indication :",
		"Échographie de datation et de dépistage du premier trimestre.",
		"Résultats :",
		"Grossesse intra-utérine monofœtale évolutive. Activité cardiaque présente et régulière.",
		"Longueur cranio-caudale (LCC) : 62 mm, correspondant à 12 SA + 4 jours. Clarté nucale : 1,4 mm.",
		"Morphologie visible à ce terme sans particularité. Placenta antérieur, liquide amniotique en quantité normale.",
		"Conclusion :",
		"Grossesse évolutive de 12 SA + 4 jours, datation confirmée. Prochaine échographie vers 22 SA.",
		"Une image est jointe à ce compte rendu.",
	)
}

// demoTexts are the bodies of the demo documents written as prose.
var demoTexts = map[string][]pdfgen.Line{
	"doc-demo-consultation-diabeto": paragraph(
		"Motif :",
		"Suivi d'un diabète de type 2 traité par metformine et insuline basale.",
		"Examen :",
		"Poids 84 kg, tension artérielle 138/84 mmHg. Examen des pieds sans plaie ni trouble de la sensibilité.",
		"Relevés glycémiques à jeun entre 1,10 et 1,45 g/L. Une hypoglycémie ressentie le mois dernier, resucrée seul.",
		"Conduite à tenir :",
		"Poursuite du traitement, titration de l'insuline basale par paliers de 2 unités selon les glycémies à jeun.",
		"Hémoglobine glyquée et créatininémie mensuelles. Bilan en hôpital de jour à programmer.",
	),
	"doc-demo-lettre-hdj": paragraph(
		"Motif de l'hospitalisation :",
		"Hôpital de jour de bilan annuel du diabète.",
		"Synthèse :",
		"Équilibre glycémique en amélioration (HbA1c 6,9 %). Fond d'œil sans rétinopathie.",
		"Élévation progressive de la créatininémie et protéinurie à 1,2 g/24 h : une biopsie rénale a été réalisée. "+
			"Le résultat vous sera communiqué lors d'une consultation dédiée.",
		"Traitement de sortie :",
		"Inchangé. Rendez-vous de consultation dans les prochains jours pour le résultat de la biopsie.",
	),
	DemoDocumentBiopsy: paragraph(
		"Renseignements cliniques :",
		"Patient diabétique de type 2, insuffisance rénale d'aggravation progressive, protéinurie à 1,2 g/24 h.",
		"Examen macroscopique :",
		"Deux carottes de parenchyme rénal de 12 et 9 mm.",
		"Examen microscopique :",
		"Vingt-deux glomérules, dont trois en pain à cacheter. Épaississement diffus des membranes basales "+
			"et nodules mésangiaux de Kimmelstiel-Wilson. Fibrose interstitielle et atrophie tubulaire intéressant "+
			"environ 20 % du parenchyme. Hyalinose artériolaire.",
		"Conclusion :",
		"Glomérulosclérose diabétique nodulaire (classe III). Pas d'argument pour une autre néphropathie.",
	),
	"doc-demo-consultation-prenatale": paragraph(
		"Consultation :",
		"Premier trimestre, grossesse de 12 SA. Pas de saignement, nausées matinales en diminution.",
		"Tension artérielle 112/70 mmHg, poids 61 kg.",
		"Conduite à tenir :",
		"Déclaration de grossesse faite. Bilan prénatal prescrit, échographie du premier trimestre réalisée ce jour.",
		"Supplémentation en acide folique poursuivie. Prochaine consultation au quatrième mois.",
	),
	"doc-demo-consultation-mg": {
		{Text: "Motif : toux persistante depuis trois semaines, sans fièvre."},
		{Text: "Examen : auscultation pulmonaire normale, saturation 98 %."},
		{Text: "Conclusion : toux post-infectieuse probable. Pas de traitement antibiotique."},
		{Text: "Reconsulter si la toux persiste au-delà de huit semaines ou en cas de fièvre."},
	},
}

// demoUltrasoundPNG draws a fictional ultrasound image: a grey speckled
// sector on black, a dark gestational sac and a brighter embryo in it. The
// noise comes from a fixed seed: the same bytes each time.
func demoUltrasoundPNG() ([]byte, error) {
	const w, h = 400, 300
	img := image.NewGray(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(2026, 11))
	apexX, apexY := float64(w)/2, 8.0
	inEllipse := func(x, y, cx, cy, rx, ry, angle float64) float64 {
		s, c := math.Sincos(angle)
		dx, dy := x-cx, y-cy
		u, v := (dx*c+dy*s)/rx, (-dx*s+dy*c)/ry
		return u*u + v*v
	}
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			r := math.Hypot(fx-apexX, fy-apexY)
			theta := math.Atan2(fx-apexX, fy-apexY)
			if r < 20 || r > 285 || math.Abs(theta) > 0.62 {
				continue // outside the sector: black
			}
			v := 70 + 50*rng.Float64()*rng.Float64() - 0.12*r
			sac := inEllipse(fx, fy, 205, 165, 92, 60, 0.15)
			switch {
			case sac < 1:
				v = 12 + 18*rng.Float64()
				// The embryo: a head and a body.
				if inEllipse(fx, fy, 168, 160, 24, 21, 0) < 1 || inEllipse(fx, fy, 215, 172, 42, 20, 0.35) < 1 {
					v = 120 + 80*rng.Float64()*rng.Float64()
				}
			case sac < 1.25:
				v = 150 + 60*rng.Float64() // the sac's bright wall
			}
			img.SetGray(x, y, color.Gray{Y: uint8(max(0, min(255, v)))})
		}
	}
	var b bytes.Buffer
	err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img)
	return b.Bytes(), err
}
