package github

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
)

// appKey writes a fresh RSA key as GitHub hands them out (PKCS #1 PEM).
func appKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "app.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(p, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return k, p
}

// checkJWT verifies an app JWT the way GitHub does: RS256 over header.claims with
// the app's public key, issuer the app id, issued in the past, at most 10 minutes.
func checkJWT(pub *rsa.PublicKey, tok string, now time.Time) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	var hdr struct{ Alg, Typ string }
	var claims struct {
		IAT, EXP int64
		ISS      string
	}
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	switch {
	case hdr.Alg != "RS256":
		return fmt.Errorf("alg %q", hdr.Alg)
	case claims.ISS != "42":
		return fmt.Errorf("iss %q", claims.ISS)
	case claims.IAT > now.Unix() || claims.EXP <= now.Unix() || claims.EXP-claims.IAT > 600+60:
		return fmt.Errorf("bad times iat %d exp %d now %d", claims.IAT, claims.EXP, now.Unix())
	}
	return nil
}

func TestAppInstallationToken(t *testing.T) {
	t.Parallel()
	key, keyFile := appKey(t)
	h := newHarness(t, func(g *config.GitHubSource) {
		g.TokenFile, g.AppID, g.InstallationID, g.PrivateKeyFile = "", 42, 7, keyFile
	})
	issued := 0
	h.gh.tokens = func(w http.ResponseWriter, r *http.Request) {
		jwt, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.URL.Path != "/api/v3/app/installations/7/access_tokens" {
			t.Errorf("token exchange at %s", r.URL.Path)
		}
		if err := checkJWT(&key.PublicKey, jwt, h.clk.Now()); err != nil {
			t.Errorf("jwt: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		issued++
		tok := fmt.Sprintf("ghs_installation_token_%d", issued)
		h.gh.mu.Lock()
		h.gh.wantAuth = "Bearer " + tok
		h.gh.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":%q,"expires_at":%q,"permissions":{"issues":"read"}}`, tok, h.clk.Now().Add(time.Hour).Format(time.RFC3339))
	}
	h.addIssues(1, 2, t0)
	res, n := h.mustPoll()
	if issued != 1 || n != 2 || res.Stats.Requests != 3 {
		t.Fatalf("first poll: %d tokens, %d records, stats %+v", issued, n, res.Stats)
	}
	// Within the hour (and outside the refresh margin) the token is reused.
	h.clk.Advance(50 * time.Minute)
	res, _ = h.mustPoll()
	if issued != 1 || res.Stats.Requests != 2 || res.Stats.NotModified != 2 {
		t.Errorf("reuse: %d tokens, stats %+v", issued, res.Stats)
	}
	// Less than the margin before expiry: refreshed before use.
	h.clk.Advance(6 * time.Minute)
	res, _ = h.mustPoll()
	if issued != 2 || res.Stats.Requests != 3 || res.Stats.NotModified != 2 {
		t.Errorf("refresh: %d tokens, stats %+v", issued, res.Stats)
	}
	for _, r := range h.gh.requests() {
		if strings.Contains(r.Path, "/repos/") && r.Auth != "Bearer ghs_installation_token_2" && r.Auth != "Bearer ghs_installation_token_1" {
			t.Errorf("%s sent %q", r.Path, r.Auth)
		}
	}
	// A revoked token: 401 is a configuration error, and the next poll fetches a
	// new token instead of reusing the rejected one.
	h.gh.mu.Lock()
	h.gh.wantAuth = "Bearer revoked"
	h.gh.mu.Unlock()
	h.gh.setIssue(1, t0.Add(time.Hour), false)
	_, _, err := h.poll()
	if err == nil || !strings.Contains(err.Error(), "configuration error") || strings.Contains(err.Error(), "ghs_installation_token") {
		t.Errorf("revoked: err = %v", err)
	}
	if _, n = h.mustPoll(); issued != 3 || n != 1 {
		t.Errorf("after revocation: %d tokens, %d records", issued, n)
	}
}

func TestAppWrongKeyIsConfigurationError(t *testing.T) {
	t.Parallel()
	_, keyFile := appKey(t)
	h := newHarness(t, func(g *config.GitHubSource) {
		g.TokenFile, g.AppID, g.InstallationID, g.PrivateKeyFile = "", 42, 7, keyFile
	})
	h.gh.tokens = func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"A JSON web token could not be decoded"}`)
	}
	res, _, err := h.poll()
	if !errors.Is(err, ErrConfig) || res.Stats.Requests != 1 {
		t.Errorf("err = %v, stats %+v", err, res.Stats)
	}
}
