package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Secret length limits after base64 decoding, per the Standard Webhooks spec.
const (
	minSecretBytes = 24
	maxSecretBytes = 64
)

const secretPrefix = "whsec_"

// Verification failures. All of them answer 401.
var (
	ErrBadTimestamp     = errors.New("webhook-timestamp is not unix seconds")
	ErrTimestampTooOld  = errors.New("webhook-timestamp is too old")
	ErrTimestampTooNew  = errors.New("webhook-timestamp is too far in the future")
	ErrNoMatchingSig    = errors.New("no matching v1 signature")
	ErrNoV1Signature    = errors.New("webhook-signature has no v1 signature")
	errSecretMalformed  = errors.New("not a whsec_ base64 secret")
	errSecretWrongBytes = fmt.Errorf("secret must decode to %d–%d bytes", minSecretBytes, maxSecretBytes)
)

// ParseSecret decodes a Standard Webhooks secret, "whsec_" followed by standard
// base64 of 24 to 64 random bytes. The prefix is optional. Errors never contain the
// secret.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), secretPrefix)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errSecretMalformed
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w (got %d)", errSecretWrongBytes, len(key))
	}
	return key, nil
}

// Sign returns the v1 signature ("v1,<base64>") of a delivery: HMAC-SHA256 with key
// over "{id}.{timestamp}.{body}". Partners' senders compute the same; tests and the
// benchmark use it to sign requests.
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(timestamp, 10), body))
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// CheckTimestamp parses a webhook-timestamp header (unix seconds) and rejects it if it
// is more than tolerance away from now, in either direction.
func CheckTimestamp(ts string, now time.Time, tolerance time.Duration) (time.Time, error) {
	sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return time.Time{}, ErrBadTimestamp
	}
	t := time.Unix(sec, 0)
	switch d := now.Sub(t); {
	case d > tolerance:
		return t, ErrTimestampTooOld
	case d < -tolerance:
		return t, ErrTimestampTooNew
	}
	return t, nil
}

// VerifySignature reports whether any space-separated "v1,<base64>" signature in
// header matches "{id}.{ts}.{body}" under any of keys (several keys during a
// rotation). Comparison is constant-time; signatures of other versions are ignored.
func VerifySignature(keys [][]byte, id, ts string, body []byte, header string) error {
	var sigs [][]byte
	for _, f := range strings.Fields(header) {
		v, b64, ok := strings.Cut(f, ",")
		if !ok || v != "v1" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) != sha256.Size {
			continue
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return ErrNoV1Signature
	}
	match := false
	for _, k := range keys {
		want := mac(k, id, ts, body)
		for _, s := range sigs {
			// Keep comparing after a match so the time does not depend on which key matched.
			if hmac.Equal(want, s) {
				match = true
			}
		}
	}
	if !match {
		return ErrNoMatchingSig
	}
	return nil
}
