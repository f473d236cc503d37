package portal

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of documents and results.
const (
	// MaxDocumentTitle bounds a document's title, in characters (runes).
	MaxDocumentTitle = 200
	// MaxDocumentAuthor bounds the author's name of a filed document.
	MaxDocumentAuthor = 200
	// MaxDocumentSearch bounds the text of a title search, in characters.
	MaxDocumentSearch = 100
	// MaxDocumentImages bounds the images of one document.
	MaxDocumentImages = 20
	// MaxObservations bounds the observations of one lab report.
	MaxObservations = 200
	// MaxObservationDecimals bounds the digits after the decimal point an
	// observation's value is given with.
	MaxObservationDecimals = 6
	// MaxObservationUnit bounds a unit, in bytes.
	MaxObservationUnit = 32
	// MaxAnalyteCode bounds an analyte code, in bytes.
	MaxAnalyteCode = 64
	// DefaultMaxDocumentSize is the default limit of a document's file in
	// bytes (10 MiB), the content and each image alike; backends and the
	// host make it configurable.
	DefaultMaxDocumentSize = 10 << 20
)

// ContentTypeText is the content type of a plain-text document (a
// care-team note written as text): UTF-8 without control characters other
// than tab and line breaks. Patients upload PDF, JPEG or PNG only.
const ContentTypeText = "text/plain; charset=utf-8"

// DocumentType is the kind of a document. Each maps to a LOINC document type
// (FHIR DocumentReference.type; DiagnosticReport.code for the reports):
// see the constants.
type DocumentType string

// Document types.
const (
	// DocConsultationReport: a consultation report (LOINC 11488-4,
	// "Consult note").
	DocConsultationReport DocumentType = "consultation_report"
	// DocOperativeReport: an operative report (LOINC 11504-8, "Surgical
	// operation note").
	DocOperativeReport DocumentType = "operative_report"
	// DocDischargeLetter: a discharge letter (LOINC 18842-5, "Discharge
	// summary"; the French "lettre de liaison").
	DocDischargeLetter DocumentType = "discharge_letter"
	// DocImagingReport: an imaging report, with its images (LOINC
	// 18748-4, "Diagnostic imaging study").
	DocImagingReport DocumentType = "imaging_report"
	// DocLabReport: a laboratory or pathology report, with its results as
	// observations (LOINC 11502-2, "Laboratory report"; 11526-1,
	// "Pathology study", for pathology).
	DocLabReport DocumentType = "lab_report"
	// DocPatientDocument: a document the patient added to share with a
	// care team (LOINC 51855-5, "Patient Note").
	DocPatientDocument DocumentType = "patient_document"
)

// DocumentTypes lists the document types, in the order the widget offers
// them as filters.
func DocumentTypes() []DocumentType {
	return []DocumentType{DocConsultationReport, DocOperativeReport, DocDischargeLetter, DocImagingReport, DocLabReport, DocPatientDocument}
}

// Valid reports whether t is one of the document types.
func (t DocumentType) Valid() bool {
	switch t {
	case DocConsultationReport, DocOperativeReport, DocDischargeLetter, DocImagingReport, DocLabReport, DocPatientDocument:
		return true
	}
	return false
}

// Origin tells who put a document in the portal.
type Origin string

// Origins of a document.
const (
	// OriginCareTeam: filed by the establishment's systems (see
	// DocumentFiling).
	OriginCareTeam Origin = "care_team"
	// OriginPatient: uploaded by the patient (Documents.UploadDocument).
	OriginPatient Origin = "patient"
)

// ReleaseState is where a document stands with respect to the patient.
type ReleaseState string

// Release states.
const (
	// ReleaseNotRequired: the document is not sensitive; the patient sees
	// it once filed.
	ReleaseNotRequired ReleaseState = "not_required"
	// ReleaseHeld: the document is sensitive and not released yet. The
	// patient does not see it at all: see Documents. Only the care team
	// of its service sees it in this state.
	ReleaseHeld ReleaseState = "held"
	// ReleaseReleased: the document is sensitive and was released, by a
	// practitioner of its service (after the announcement consultation) or
	// by the establishment's delay.
	ReleaseReleased ReleaseState = "released"
)

// Document is one document of a patient's care: a report, a letter, a lab
// result, or a file the patient added (FHIR R4 DocumentReference; see
// Documents for the mapping).
//
// Its file is read with Documents.DocumentContent; an imaging report's
// images with Documents.DocumentImage.
type Document struct {
	ID            string `json:"id"`
	Establishment string `json:"establishment"`
	Service       string `json:"service"`
	// Patient is the id of the patient the document is about. Only that
	// patient and the care team of Service ever see it.
	Patient string `json:"patient"`
	// PatientName is the patient's name as the directory knows it, for the
	// care team; empty for the patient and when the directory does not
	// list them.
	PatientName string       `json:"patient_name,omitempty"`
	Type        DocumentType `json:"type"`
	// Title is one line of plain text, at most MaxDocumentTitle characters.
	Title string `json:"title"`
	// Date is the clinical date: of the consultation, operation, exam or
	// sample; of the upload for a patient's document. It carries the
	// establishment's UTC offset.
	Date time.Time `json:"date"`
	// Author is who wrote the document, as its source names them ("Dr
	// Julien Roux", "Laboratoire de biologie médicale"); for a patient's
	// document, the patient's name.
	Author string `json:"author"`
	Origin Origin `json:"origin"`
	// FileName, ContentType, Size and SHA256 describe the document's file:
	// ContentTypePDF, ContentTypeJPEG, ContentTypePNG or ContentTypeText,
	// found from the content; SHA256 is the lower-case hex digest.
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	// Images are the images of an imaging report (FHIR
	// DiagnosticReport.media), in order; empty for other documents.
	Images []DocumentImage `json:"images"`
	// Observations are the results of a lab report, in the report's order;
	// empty for other documents.
	Observations []Observation `json:"observations"`
	// New: the patient has not opened the document yet (see
	// Documents.MarkDocumentSeen). A patient's own upload is never new.
	New bool `json:"new"`
	// Sensitive: the document is held back from the patient until it is
	// released (the DMP's INVISIBLE_PATIENT; see Documents).
	Sensitive bool         `json:"sensitive"`
	Release   ReleaseState `json:"release"`
	// ReleaseDue is, for a sensitive document, when the establishment's
	// delay releases it if no practitioner did before; nil when only a
	// practitioner may.
	ReleaseDue *time.Time `json:"release_due,omitempty"`
	// Released is when a sensitive document was released: by a
	// practitioner (ReleasedBy), or at ReleaseDue (ReleasedBy nil).
	Released   *time.Time `json:"released,omitempty"`
	ReleasedBy *Author    `json:"released_by,omitempty"`
	// Created is when the document was filed or uploaded.
	Created time.Time `json:"created"`
}

// DocumentImage describes one image of a document; its bytes are read with
// Documents.DocumentImage.
type DocumentImage struct {
	ID string `json:"id"`
	// Name is the file name, as the source gave it.
	Name string `json:"name"`
	// ContentType is ContentTypeJPEG or ContentTypePNG, found from the
	// content.
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// Interpretation is an observation's value against its reference range,
// in the codes of FHIR's ObservationInterpretation
// (http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation).
type Interpretation string

// Interpretations, computed from the value and the reference range (see
// Interpret).
const (
	// InterpretationNone: the observation has no reference range.
	InterpretationNone Interpretation = ""
	// InterpretationLow: below the range's low bound ("L").
	InterpretationLow Interpretation = "L"
	// InterpretationNormal: within the range, bounds included ("N").
	InterpretationNormal Interpretation = "N"
	// InterpretationHigh: above the range's high bound ("H").
	InterpretationHigh Interpretation = "H"
)

// OutOfRange reports whether i is below or above the reference range.
func (i Interpretation) OutOfRange() bool {
	return i == InterpretationLow || i == InterpretationHigh
}

// Interpret returns value's interpretation against the reference range
// [low, high], either bound nil for none.
func Interpret(value float64, low, high *float64) Interpretation {
	switch {
	case low == nil && high == nil:
		return InterpretationNone
	case low != nil && value < *low:
		return InterpretationLow
	case high != nil && value > *high:
		return InterpretationHigh
	}
	return InterpretationNormal
}

// Observation is one result of a lab report: an analyte's value (FHIR R4
// Observation with valueQuantity and referenceRange).
type Observation struct {
	ID string `json:"id"`
	// Document is the id of the lab report the observation belongs to.
	Document string `json:"document"`
	// Code is the analyte's code: LOINC (http://loinc.org) when there is
	// one, for example "4548-4" (HbA1c) or "2345-7" (glucose in serum or
	// plasma). Trends group observations by Code.
	Code string `json:"code"`
	// Display is the analyte's name for the patient.
	Display Text    `json:"display"`
	Value   float64 `json:"value"`
	// Decimals is the number of digits after the decimal point the value
	// was reported with ("7.0" has 1), for showing it as the lab did.
	Decimals int `json:"decimals"`
	// Unit is the unit of Value as the lab writes it ("%", "g/L",
	// "µmol/L"), at most MaxObservationUnit bytes.
	Unit string `json:"unit"`
	// Low and High bound the reference range, both included; nil for no
	// bound.
	Low  *float64 `json:"low,omitempty"`
	High *float64 `json:"high,omitempty"`
	// Interpretation is computed from Value, Low and High (Interpret),
	// never taken from the source.
	Interpretation Interpretation `json:"interpretation,omitempty"`
	// Effective is when the sample was taken, with the establishment's UTC
	// offset.
	Effective time.Time `json:"effective"`
}

// FormatValue returns the value with its reported decimals, for example
// "7.0".
func (o Observation) FormatValue() string {
	return fmt.Sprintf("%.*f", max(o.Decimals, 0), o.Value)
}

// Analyte is one analyte a patient has results for, with the latest
// result: what a results view offers trends of.
type Analyte struct {
	Code    string `json:"code"`
	Display Text   `json:"display"`
	// Unit is the latest observation's; Count counts the observations in
	// that unit, the points of the analyte's Trend.
	Unit   string      `json:"unit"`
	Count  int         `json:"count"`
	Latest Observation `json:"latest"`
}

// Trend is every value of one analyte for a patient over time, for a chart:
// the points, oldest first, and the reference band to draw behind them.
type Trend struct {
	Code    string `json:"code"`
	Display Text   `json:"display"`
	// Unit is the unit of the latest observation. Points holds only the
	// observations in that unit: values in another unit (a lab that
	// changed its method) are not on the same scale.
	Unit string `json:"unit"`
	// Low and High are the reference range of the latest observation, the
	// band to draw; each point carries its own range too.
	Low    *float64      `json:"low,omitempty"`
	High   *float64      `json:"high,omitempty"`
	Points []Observation `json:"points"`
}

// TrendOf makes the trend of one analyte from its observations, oldest
// first (at least one): the points in the latest observation's unit, the
// latest's reference range as the band. Backends share it so that every
// one draws the same trend from the same results.
func TrendOf(code string, obs []Observation) Trend {
	latest := obs[len(obs)-1]
	t := Trend{Code: code, Display: latest.Display, Unit: latest.Unit, Low: latest.Low, High: latest.High, Points: []Observation{}}
	for _, o := range obs {
		if o.Unit == latest.Unit {
			t.Points = append(t.Points, o)
		}
	}
	return t
}

// AnalytesOf groups observations (oldest first) by analyte code: each
// analyte with its latest result and the count of its trend's points,
// ordered by French display name (ignoring case and accents), then code.
func AnalytesOf(obs []Observation) []Analyte {
	byCode := map[string][]Observation{}
	for _, o := range obs {
		byCode[o.Code] = append(byCode[o.Code], o)
	}
	out := make([]Analyte, 0, len(byCode))
	for code, points := range byCode {
		t := TrendOf(code, points)
		out = append(out, Analyte{Code: code, Display: t.Display, Unit: t.Unit, Count: len(t.Points), Latest: t.Points[len(t.Points)-1]})
	}
	slices.SortFunc(out, func(a, b Analyte) int {
		return cmp.Or(cmp.Compare(FoldSearch(a.Display.FR), FoldSearch(b.Display.FR)), cmp.Compare(a.Code, b.Code))
	})
	return out
}

// DocumentCount counts a patient's documents.
type DocumentCount struct {
	Total int `json:"total"`
	// New counts those the patient has not opened yet.
	New int `json:"new"`
}

// DocumentFilter selects documents of a list or a count. The zero value
// selects every document the viewer may see in the establishment.
type DocumentFilter struct {
	// Type keeps the documents of that type; "" keeps them all.
	Type DocumentType
	// Search keeps the documents whose title contains it, ignoring case
	// and accents (see MatchTitle); "" keeps them all. At most
	// MaxDocumentSearch characters.
	Search string
	// Service keeps the documents of that service; "" keeps those of
	// every service (a practitioner: every service they belong to).
	Service string
	// Patient keeps the documents of that patient. Practitioners only: a
	// patient's list is always their own (ErrForbidden otherwise).
	Patient string
	// Held keeps the documents held back from their patient, for the
	// release view of a care team. Practitioners only (ErrForbidden for a
	// patient, whose lists never hold them).
	Held bool
}

// Validate reports an ErrInvalid error for an unknown type or a search
// that is not one line of at most MaxDocumentSearch characters.
func (f DocumentFilter) Validate() error {
	if f.Type != "" && !f.Type.Valid() {
		return Errorf(ErrInvalid, "unknown document type %q", f.Type)
	}
	if f.Search != "" {
		if !utf8.ValidString(f.Search) {
			return Errorf(ErrInvalid, "the search is not valid UTF-8")
		}
		if utf8.RuneCountInString(f.Search) > MaxDocumentSearch {
			return Errorf(ErrInvalid, "the search exceeds %d characters", MaxDocumentSearch)
		}
		for _, r := range f.Search {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return Errorf(ErrInvalid, "the search holds the control character %U", r)
			}
		}
	}
	return nil
}

// careTeamOnly reports an ErrForbidden error when a patient uses the
// practitioners' fields of f.
func (f DocumentFilter) careTeamOnly(side AuthorKind) error {
	if side == AuthorPatient && (f.Patient != "" || f.Held) {
		return Errorf(ErrForbidden, "a patient may not filter by patient or ask for held documents")
	}
	return nil
}

// CheckDocumentFilter validates f for the context's subject: Validate,
// then ErrForbidden for a patient using Patient or Held. It returns the
// subject.
func CheckDocumentFilter(ctx context.Context, f DocumentFilter) (Author, error) {
	a, err := RequireAuthor(ctx)
	if err != nil {
		return a, err
	}
	if err := f.Validate(); err != nil {
		return a, err
	}
	return a, f.careTeamOnly(a.Kind)
}

// MatchTitle reports whether title contains search, ignoring case, accents
// and runs of spaces (FoldSearch): "echo" finds "Échographie du
// 1er trimestre". An empty or blank search matches everything.
func MatchTitle(title, search string) bool {
	return strings.Contains(FoldSearch(title), FoldSearch(search))
}

// FoldSearch returns s in lower case, without the accents of Latin
// letters, ligatures spelt out (œ as oe), every run of white space or
// control characters as one space and no leading or trailing space: the form titles and searches are
// compared in.
func FoldSearch(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if f, ok := foldTable[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteString(strings.ToLower(string(r)))
	}
	return b.String()
}

// foldTable maps the accented and ligatured Latin letters of French (and
// their neighbours) to their plain lower-case form.
var foldTable = func() map[rune]string {
	m := map[rune]string{}
	for plain, accented := range map[string]string{
		"a": "àáâãäåÀÁÂÃÄÅ", "c": "çÇ", "e": "èéêëÈÉÊË", "i": "ìíîïÌÍÎÏ", "n": "ñÑ",
		"o": "òóôõöøÒÓÔÕÖØ", "u": "ùúûüÙÚÛÜ", "y": "ýÿÝŸ",
		"oe": "œŒ", "ae": "æÆ", "ss": "ß",
		"'": "’‘ʼ", "-": "‐‑‒–—",
	} {
		for _, r := range accented {
			m[r] = plain
		}
	}
	return m
}()

// ValidateDocumentTitle checks a document's title: one line of plain text,
// 1 to MaxDocumentTitle characters, in UTF-8, without control characters,
// not only spaces. An empty or malformed title is an ErrInvalid error, a
// longer one ErrTooLarge.
func ValidateDocumentTitle(s string) error {
	return checkText("the title", s, MaxDocumentTitle, false)
}

// ValidateAnalyteCode checks an analyte code: 1 to MaxAnalyteCode ASCII
// letters, digits, '-', '.' or '_' (a LOINC code such as "4548-4", or a
// laboratory's own code). Anything else is an ErrInvalid error.
func ValidateAnalyteCode(code string) error {
	if code == "" || len(code) > MaxAnalyteCode {
		return Errorf(ErrInvalid, "an analyte code has 1 to %d characters", MaxAnalyteCode)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return Errorf(ErrInvalid, "an analyte code holds only letters, digits, '-', '.' and '_'")
		}
	}
	return nil
}

// SniffDocument returns the content type of a document's file:
// SniffAttachment's types, or ContentTypeText for a file named ".txt" whose
// content is UTF-8 text without control characters other than tab and line
// breaks. Anything else is an ErrAttachmentRejected error.
func SniffDocument(name string, b []byte) (string, error) {
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 && strings.EqualFold(name[dot+1:], "txt") {
		if err := checkAttachmentName(name); err != nil {
			return "", err
		}
		if len(b) == 0 || !utf8.Valid(b) {
			return "", Errorf(ErrAttachmentRejected, "the text is empty or not UTF-8")
		}
		for _, r := range string(b) {
			if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfeff) {
				return "", Errorf(ErrAttachmentRejected, "the text holds the control character %U", r)
			}
		}
		return ContentTypeText, nil
	}
	return SniffAttachment(name, b)
}

// NewFile is a file given with a document: its name, the content type
// SniffDocument finds in its bytes, and the bytes.
type NewFile struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Content     []byte `json:"content"`
}

// NewObservation is a result of a lab report being filed. The
// interpretation is not given: it is computed (Interpret).
type NewObservation struct {
	Code      string
	Display   Text
	Value     float64
	Decimals  int
	Unit      string
	Low, High *float64
	Effective time.Time
}

// Validate reports an ErrInvalid error for an observation no backend
// should store.
func (o NewObservation) Validate() error {
	switch {
	case ValidateAnalyteCode(o.Code) != nil:
		return ValidateAnalyteCode(o.Code)
	case checkText("the display", o.Display.FR, MaxDocumentTitle, false) != nil:
		return Errorf(ErrInvalid, "the observation's display (French) must be one line of 1 to %d characters", MaxDocumentTitle)
	case o.Display.EN != "" && checkText("the display", o.Display.EN, MaxDocumentTitle, false) != nil:
		return Errorf(ErrInvalid, "the observation's display (English) must be one line of at most %d characters", MaxDocumentTitle)
	case math.IsNaN(o.Value) || math.IsInf(o.Value, 0):
		return Errorf(ErrInvalid, "the observation's value must be a finite number")
	case o.Decimals < 0 || o.Decimals > MaxObservationDecimals:
		return Errorf(ErrInvalid, "an observation has 0 to %d decimals", MaxObservationDecimals)
	case len(o.Unit) > MaxObservationUnit || !utf8.ValidString(o.Unit) || strings.ContainsFunc(o.Unit, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return Errorf(ErrInvalid, "the observation's unit must be printable and at most %d bytes", MaxObservationUnit)
	case o.Low != nil && (math.IsNaN(*o.Low) || math.IsInf(*o.Low, 0)), o.High != nil && (math.IsNaN(*o.High) || math.IsInf(*o.High, 0)):
		return Errorf(ErrInvalid, "the reference range's bounds must be finite numbers")
	case o.Low != nil && o.High != nil && *o.Low > *o.High:
		return Errorf(ErrInvalid, "the reference range's low bound is above its high bound")
	case o.Effective.IsZero():
		return Errorf(ErrInvalid, "the observation's effective time is required")
	}
	return nil
}

// NewDocument is a document filed for a patient by the establishment's
// systems (see DocumentFiling).
type NewDocument struct {
	Establishment string
	Service       string
	Patient       string
	Type          DocumentType
	Title         string
	Date          time.Time
	Author        string
	// SourceID is the source's identifier of the document (FHIR
	// DocumentReference.masterIdentifier), 8 to 128 printable ASCII
	// characters: filing the same document again returns the one filed,
	// filing another under the same SourceID in the establishment is
	// refused (ErrIdempotencyKeyReused).
	SourceID string
	// Sensitive holds the document back from the patient until a
	// practitioner of Service releases it, or the establishment's delay
	// does (see Documents).
	Sensitive bool
	// File is the document itself: PDF, JPEG, PNG or plain text.
	File NewFile
	// Images are an imaging report's images, JPEG or PNG; only an
	// imaging report may have them.
	Images []NewFile
	// Observations are a lab report's results; only a lab report may have
	// them.
	Observations []NewObservation
}

// Validate reports an error for a document no backend should file; max is
// the backend's limit of one file's size (0: DefaultMaxDocumentSize). A
// file whose content is not what it is declared to be is
// ErrAttachmentRejected; one over max, ErrAttachmentTooLarge.
func (d NewDocument) Validate(max int64) error {
	switch {
	case d.Establishment == "":
		return Errorf(ErrInvalid, "establishment is required")
	case d.Service == "":
		return Errorf(ErrInvalid, "service is required")
	case d.Patient == "":
		return Errorf(ErrInvalid, "patient is required")
	case !d.Type.Valid() || d.Type == DocPatientDocument:
		return Errorf(ErrInvalid, "a filed document's type must be a care-team document type, not %q", d.Type)
	case d.Date.IsZero():
		return Errorf(ErrInvalid, "the document's date is required")
	case len(d.Images) > 0 && d.Type != DocImagingReport:
		return Errorf(ErrInvalid, "only an imaging report has images")
	case len(d.Images) > MaxDocumentImages:
		return Errorf(ErrInvalid, "a document has at most %d images", MaxDocumentImages)
	case len(d.Observations) > 0 && d.Type != DocLabReport:
		return Errorf(ErrInvalid, "only a lab report has observations")
	case len(d.Observations) > MaxObservations:
		return Errorf(ErrInvalid, "a lab report has at most %d observations", MaxObservations)
	}
	if err := ValidateIdempotencyKey(d.SourceID); err != nil {
		return Errorf(ErrInvalid, "source id: %v", err)
	}
	if err := ValidateDocumentTitle(d.Title); err != nil {
		return err
	}
	if err := checkText("the author", d.Author, MaxDocumentAuthor, false); err != nil {
		return err
	}
	if err := validateFile(d.File, max, SniffDocument); err != nil {
		return err
	}
	for i, img := range d.Images {
		if err := validateFile(img, max, SniffAttachment); err != nil {
			return fmt.Errorf("image %d: %w", i, err)
		}
		if img.ContentType == ContentTypePDF {
			return Errorf(ErrAttachmentRejected, "image %d is a PDF", i)
		}
	}
	for i, o := range d.Observations {
		if err := o.Validate(); err != nil {
			return fmt.Errorf("observation %d: %w", i, err)
		}
	}
	return nil
}

// validateFile checks a file of 1 to max bytes (0: DefaultMaxDocumentSize)
// that sniff accepts with its name and finds to be f.ContentType.
func validateFile(f NewFile, max int64, sniff func(string, []byte) (string, error)) error {
	if max <= 0 {
		max = DefaultMaxDocumentSize
	}
	if int64(len(f.Content)) > max {
		return Errorf(ErrAttachmentTooLarge, "%d bytes, more than %d", len(f.Content), max)
	}
	ct, err := sniff(f.Name, f.Content)
	if err != nil {
		return err
	}
	if ct != f.ContentType {
		return Errorf(ErrAttachmentRejected, "declared as %q, the content is %s", f.ContentType, ct)
	}
	return nil
}

// NewUpload is a document a patient adds to share with the care team of a
// service.
type NewUpload struct {
	Establishment string `json:"establishment"`
	Service       string `json:"service"`
	Title         string `json:"title"`
	// ClientID is generated by the patient's device once per upload and
	// sent again on every retry, as NewMessage.ClientID: the same ClientID
	// stores one document; another upload under it is refused with
	// ErrIdempotencyKeyReused.
	ClientID string `json:"client_id"`
	// File is PDF, JPEG or PNG, checked by content (SniffAttachment).
	File NewFile `json:"file"`
}

// Validate reports an error for an upload no backend should store; max is
// the backend's limit of a file's size (0: DefaultMaxDocumentSize).
func (u NewUpload) Validate(max int64) error {
	switch {
	case u.Establishment == "":
		return Errorf(ErrInvalid, "establishment is required")
	case u.Service == "":
		return Errorf(ErrInvalid, "service is required")
	}
	if err := ValidateIdempotencyKey(u.ClientID); err != nil {
		return err
	}
	if err := ValidateDocumentTitle(u.Title); err != nil {
		return err
	}
	return validateFile(u.File, max, SniffAttachment)
}

// Documents is the documents and results of patients' care, as patients and
// care teams see them.
//
// Who sees what. The context's subject decides. A patient sees their own
// documents that are visible to them (below); a practitioner sees every
// document of the services they belong to (FHIR HealthcareService;
// service_practitioners in the SQLite backend), in every state. Anything
// else is reported exactly as an unknown id (ErrNotFound) by every method.
//
// Release rules. A document filed as sensitive is held back
// (ReleaseHeld) until a practitioner of its service releases it
// (ReleaseDocument, after the announcement consultation) or, if the
// establishment configures a delay, until that delay after its filing has
// passed (Document.ReleaseDue). While held, it does not exist for its
// patient: it is absent from lists, counts, searches, analytes and trends,
// and its metadata, content, images, and MarkDocumentSeen answer exactly as
// for an id that does not exist. Once released it appears, new, with
// ReleaseReleased.
//
// Sides. The patient-only methods (MarkDocumentSeen, Analytes, Trend,
// UploadDocument) refuse a practitioner, and ReleaseDocument a patient,
// with ErrForbidden, before looking anything up.
//
// Mapping to FHIR R4, for a backend over a FHIR server:
//   - Document: a DocumentReference (https://hl7.org/fhir/R4/documentreference.html)
//     with status "current", subject the Patient, type the LOINC code of
//     its Type, date = Created, context.period.start = Date, author (the
//     Practitioner or Organization; display = Author), custodian the
//     establishment's Organization, context.practiceSetting or an
//     extension naming the HealthcareService of Service, description =
//     Title, masterIdentifier = NewDocument.SourceID (or, for an upload,
//     an identifier urn:parcours:client-id qualified by the patient, so
//     that a conditional create is idempotent). content[0].attachment
//     holds ContentType, Size, title = FileName and url = the Binary
//     (https://hl7.org/fhir/R4/binary.html) with the bytes; R4's
//     Attachment.hash is SHA-1, so SHA256 travels in an extension.
//   - Reports: an imaging or lab report is also a DiagnosticReport
//     (https://hl7.org/fhir/R4/diagnosticreport.html), status "final",
//     category RAD or LAB (PAT for pathology), code its LOINC type,
//     effectiveDateTime = Date, presentedForm = the document's file,
//     media[].link = a Media per image (the Binary of its bytes), and
//     result = the Observations; the DocumentReference points to it with
//     context.related.
//   - Observation (https://hl7.org/fhir/R4/observation.html): status
//     "final", category laboratory, code.coding = LOINC Code with display,
//     valueQuantity (value, unit; UCUM system and code when the unit has
//     one), referenceRange[0].low/high, effectiveDateTime = Effective,
//     interpretation = the computed Interpretation (v3
//     ObservationInterpretation L, N, H).
//   - Sensitive: the French DMP marks such a document with the
//     confidentiality code INVISIBLE_PATIENT (the DMP's confidentialityCode,
//     in FHIR DocumentReference.securityLabel); on the other resources
//     (DiagnosticReport, Observation, Binary) the same code is a
//     meta.security label. A resource carrying it is held: the backend
//     reads every resource of a document (its DocumentReference, its
//     DiagnosticReport, each Observation) and holds the whole document if
//     any of them carries it.
//   - Release, its due date and the patient's first opening: extensions of
//     the DocumentReference (released, released-by, release-due,
//     seen-by-patient, under https://parcours-sante.org/fhir/StructureDefinition/),
//     written by a versioned update (If-Match); the DMP code stays on the
//     resources as the record of the decision. host/backend/fhir
//     implements this mapping; docs/fhir.md details it.
type Documents interface {
	// Documents lists the documents the context's subject may see in an
	// establishment, selected by f, the latest Date first.
	Documents(ctx context.Context, establishment string, f DocumentFilter) ([]Document, error)
	// CountDocuments counts what Documents would list, and how many of
	// those the patient has not opened.
	CountDocuments(ctx context.Context, establishment string, f DocumentFilter) (DocumentCount, error)
	// Document returns a document the subject may see.
	Document(ctx context.Context, id string) (Document, error)
	// DocumentContent returns a document the subject may see with the
	// bytes of its file.
	DocumentContent(ctx context.Context, id string) (Document, []byte, error)
	// DocumentImage returns one image of a document the subject may see,
	// with its bytes.
	DocumentImage(ctx context.Context, documentID, imageID string) (DocumentImage, []byte, error)
	// MarkDocumentSeen records that the context's patient opened a
	// document: it is no longer New. Again changes nothing.
	MarkDocumentSeen(ctx context.Context, id string) error
	// Analytes lists the analytes the context's patient has results for
	// in an establishment, by display name.
	Analytes(ctx context.Context, establishment string) ([]Analyte, error)
	// Trend returns every visible result of one analyte of the context's
	// patient in an establishment, oldest first; an analyte without any is
	// ErrNotFound.
	Trend(ctx context.Context, establishment, code string) (Trend, error)
	// UploadDocument stores a document of the context's patient, shared
	// with the care team of u.Service, which the patient must have a link
	// with (as for Messaging.StartThread; a document of that service counts
	// too), else ErrServiceNotLinked. It is idempotent on u.ClientID.
	UploadDocument(ctx context.Context, u NewUpload) (Document, error)
	// ReleaseDocument releases a held document of one of the context's
	// practitioner's services and returns it. A document that is not held
	// is returned unchanged.
	ReleaseDocument(ctx context.Context, id string) (Document, error)
}

// DocumentFiling is how documents enter a backend from the establishment's
// systems (the EHR, the laboratory, the imaging system): in the SQLite
// backend, the demo seed and imports; over FHIR, the server's own
// resources. It is not part of the host's API.
type DocumentFiling interface {
	// FileDocument files d for d.Patient and returns it as the care team
	// sees it. Filing again with the same SourceID and the same document
	// returns the one filed.
	FileDocument(ctx context.Context, d NewDocument) (Document, error)
}
