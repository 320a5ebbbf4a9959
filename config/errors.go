package config

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is a validation problem at a dotted field path ("sources[1].jira.base_url").
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// fieldErr makes a FieldError.
func fieldErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// under prefixes the paths of every FieldError in err with prefix.
func under(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, fe := range flatten(err) {
		p := prefix
		if fe.Path != "" {
			if strings.HasPrefix(fe.Path, "[") {
				p += fe.Path
			} else {
				p += "." + fe.Path
			}
		}
		out = append(out, &FieldError{Path: p, Msg: fe.Msg})
	}
	return errors.Join(out...)
}

// flatten turns a (joined) error into its FieldErrors; other errors get an empty path.
func flatten(err error) []*FieldError {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return []*FieldError{{Msg: err.Error()}}
}
