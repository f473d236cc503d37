package portal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PartialError reports a merged answer with parts missing: the
// establishments whose backend could not answer (down, or too slow). The
// result it comes with holds what the others answered, so that one
// establishment's outage degrades only its part of a patient's merged
// view. Its code (Code) is ErrBackendUnavailable.
type PartialError struct {
	// Establishments are the ids of the establishments missing, in order.
	Establishments []string
	// Err is the first of their errors, for logs (never shown to patients).
	Err error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("no answer from %s: %v", strings.Join(e.Establishments, ", "), e.Err)
}

// Unwrap returns the first backend's error.
func (e *PartialError) Unwrap() error { return e.Err }

// Missing returns the establishments a partial answer lacks, or nil when
// err is not a PartialError.
func Missing(err error) []string {
	var p *PartialError
	if errors.As(err, &p) {
		return slices.Clone(p.Establishments)
	}
	return nil
}
