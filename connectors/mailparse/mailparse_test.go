package mailparse

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/feedback"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// crlf turns a test message written with "\n" into wire form.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func mustEncode(t *testing.T, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

func encodedWord(charset string, b []byte) string {
	return "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString(b) + "?="
}

func mustParse(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseCharsets(t *testing.T) {
	t.Parallel()
	jpSubject := "日本語の件名"
	cnSubject := "中文主题测试"
	sjisBody := "お世話になっております。ログインできません。"
	tests := []struct {
		name        string
		raw         []byte
		subject     string
		text        string
		attachment  string // expected first attachment filename
		wantNote    string // substring of a note, "" for no notes
		wantNoNotes bool
	}{
		{
			name: "iso-2022-jp encoded-word subject",
			raw: crlf("From: a@example.jp\nSubject: " + encodedWord("ISO-2022-JP", mustEncode(t, japanese.ISO2022JP, jpSubject)) +
				"\nContent-Type: text/plain; charset=us-ascii\n\nhello\n"),
			subject:     jpSubject,
			text:        "hello",
			wantNoNotes: true,
		},
		{
			name: "gb2312 subject and body",
			raw: append(crlf("From: a@example.cn\nSubject: "+encodedWord("GB2312", mustEncode(t, simplifiedchinese.GBK, cnSubject))+
				"\nContent-Type: text/plain; charset=\"gb2312\"\nContent-Transfer-Encoding: 8bit\n\n"),
				mustEncode(t, simplifiedchinese.GBK, "无法部署")...),
			subject:     cnSubject,
			text:        "无法部署",
			wantNoNotes: true,
		},
		{
			name: "shift_jis body in base64",
			raw: crlf("From: a@example.jp\nSubject: sjis\nMIME-Version: 1.0\nContent-Type: text/plain; charset=Shift_JIS\nContent-Transfer-Encoding: base64\n\n" +
				base64.StdEncoding.EncodeToString(mustEncode(t, japanese.ShiftJIS, sjisBody)) + "\n"),
			subject:     "sjis",
			text:        sjisBody,
			wantNoNotes: true,
		},
		{
			name: "cp1252 body quoted-printable",
			raw: crlf("From: a@example.com\nSubject: =?windows-1252?Q?Caf=E9_=93menu=94?=\nContent-Type: text/plain; charset=windows-1252\n" +
				"Content-Transfer-Encoding: quoted-printable\n\nThe caf=E9 costs 5 =80 =96 =93cheap=94 and this is a long line that is=\n wrapped softly.\n"),
			subject:     "Café “menu”",
			text:        "The café costs 5 € – “cheap” and this is a long line that is wrapped softly.",
			wantNoNotes: true,
		},
		{
			name: "iso-8859-2 q-encoded subject, iso-8859-15 body",
			raw: append(crlf("From: a@example.pl\nSubject: =?ISO-8859-2?Q?Za=BF=F3=B3=E6_g=EAsl=B1?=\nContent-Type: text/plain; charset=iso-8859-15\n\n"),
				mustEncode(t, charmap.ISO8859_15, "Prix: 10 €")...),
			subject:     "Zażółć gęslą",
			text:        "Prix: 10 €",
			wantNoNotes: true,
		},
		{
			name:     "missing charset with 8-bit bytes falls back to windows-1252",
			raw:      []byte("From: a@example.com\nSubject: x\n\nna\xefve r\xe9sum\xe9\n"),
			subject:  "x",
			text:     "naïve résumé",
			wantNote: "not valid us-ascii",
		},
		{
			name:     "unknown charset label keeps utf-8 bytes",
			raw:      []byte("From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=x-klingon\n\nüber alles\n"),
			subject:  "x",
			text:     "über alles",
			wantNote: `unknown charset "x-klingon", read as utf-8`,
		},
		{
			name:     "unknown charset in encoded word does not fail the subject",
			raw:      []byte("From: a@example.com\nSubject: =?x-klingon?Q?caf=E9?= ok\n\nbody\n"),
			subject:  "café ok",
			text:     "body",
			wantNote: "Subject header: unknown charset",
		},
		{
			name: "rfc 2231 filename",
			raw: crlf("From: a@example.com\nSubject: file\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nsee attached\n--XX\n" +
				"Content-Type: application/pdf\nContent-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates%20%C3%A9t%C3%A9.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--XX--\n"),
			subject:     "file",
			text:        "see attached",
			attachment:  "€ rates été.pdf",
			wantNoNotes: true,
		},
		{
			name: "rfc 2231 continuation filename in latin-1",
			raw: crlf("From: a@example.com\nSubject: file\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nsee attached\n--XX\n" +
				"Content-Type: application/octet-stream\nContent-Disposition: attachment;\n filename*0*=iso-8859-1''r%E9sum;\n filename*1*=%E9.doc\n\nabc\n--XX--\n"),
			subject:    "file",
			text:       "see attached",
			attachment: "résumé.doc",
		},
		{
			name: "encoded-word filename in content-type name",
			raw: crlf("From: a@example.com\nSubject: file\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nhi\n--XX\n" +
				"Content-Type: image/png; name=\"=?UTF-8?B?5oiq5Zu+LnBuZw==?=\"\n\nabc\n--XX--\n"),
			subject:    "file",
			text:       "hi",
			attachment: "截图.png",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := mustParse(t, tc.raw)
			if m.Subject != tc.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.subject)
			}
			if m.Text != tc.text {
				t.Errorf("Text = %q, want %q", m.Text, tc.text)
			}
			if tc.attachment != "" {
				if len(m.Attachments) == 0 {
					t.Fatalf("no attachments, want %q", tc.attachment)
				}
				if m.Attachments[0].Filename != tc.attachment {
					t.Errorf("Filename = %q, want %q", m.Attachments[0].Filename, tc.attachment)
				}
			}
			notes := strings.Join(m.Notes, "\n")
			if tc.wantNoNotes && notes != "" {
				t.Errorf("unexpected notes: %s", notes)
			}
			if tc.wantNote != "" && !strings.Contains(notes, tc.wantNote) {
				t.Errorf("notes %q do not mention %q", notes, tc.wantNote)
			}
			if m.Quarantine != "" {
				t.Errorf("unexpected quarantine %q", m.Quarantine)
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	t.Parallel()
	raw := crlf(`From: "Doe, Jane" <Jane.Doe@Example.COM>
To: support@feedbackhub.example, =?UTF-8?Q?J=C3=B6rg?= <joerg@example.de>
Cc: ops@example.com
Subject: Re: AW: [EXTERNAL] Fwd:   Deploy   fails on eu-west
Date: Tue, 01 Mar 2011 18:02:05 +0530
Message-ID: <abc.123@mail.example.com>
In-Reply-To: <parent@mail.example.com> (Jane's message)
References: <root@mail.example.com>
 <parent@mail.example.com>

Body.
`)
	m := mustParse(t, raw)
	if m.From != (Address{Name: "Doe, Jane", Addr: "Jane.Doe@example.com"}) {
		t.Errorf("From = %+v", m.From)
	}
	if m.FromDomain != "example.com" {
		t.Errorf("FromDomain = %q", m.FromDomain)
	}
	if len(m.To) != 2 || m.To[1].Name != "Jörg" || m.To[1].Addr != "joerg@example.de" {
		t.Errorf("To = %+v", m.To)
	}
	if len(m.Cc) != 1 {
		t.Errorf("Cc = %+v", m.Cc)
	}
	if m.NormalizedSubject != "Deploy fails on eu-west" {
		t.Errorf("NormalizedSubject = %q", m.NormalizedSubject)
	}
	want := time.Date(2011, 3, 1, 12, 32, 5, 0, time.UTC)
	if !m.Date.Equal(want) || m.Date.Location() != time.UTC {
		t.Errorf("Date = %v, want %v", m.Date, want)
	}
	if m.MessageID != "<abc.123@mail.example.com>" || m.InReplyTo != "<parent@mail.example.com>" {
		t.Errorf("ids = %q %q", m.MessageID, m.InReplyTo)
	}
	if strings.Join(m.References, " ") != "<root@mail.example.com> <parent@mail.example.com>" {
		t.Errorf("References = %q", m.References)
	}
	if got := ThreadIDs(m); strings.Join(got, " ") != "<parent@mail.example.com> <root@mail.example.com>" {
		t.Errorf("ThreadIDs = %q", got)
	}
	if got := SubjectThreadKey(m); got != "deploy fails on eu-west|example.com" {
		t.Errorf("SubjectThreadKey = %q", got)
	}
}

func TestParseLenientHeaders(t *testing.T) {
	t.Parallel()
	raw := []byte("From: Broken Name <broken@Example.org\nMessage-ID: noangle@host\nDate: yesterday-ish\nSubject: hi\n\nx\n")
	m := mustParse(t, raw)
	if m.MessageID != "<noangle@host>" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if m.From.Addr != "broken@example.org" || m.FromDomain != "example.org" {
		t.Errorf("From = %+v domain %q", m.From, m.FromDomain)
	}
	if !m.Date.IsZero() {
		t.Errorf("Date = %v, want zero", m.Date)
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), `date: cannot read "yesterday-ish"`) {
		t.Errorf("notes = %q", m.Notes)
	}
}

func TestNormalizeSubject(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Re: hello":                   "hello",
		"RE: Re: re:  hello   world":  "hello world",
		"Fwd: Fw: FW: hello":          "hello",
		"AW: WG: SV: VS: Antw: hello": "hello",
		"Réf: hello":                  "hello",
		"Re[2]: hello":                "hello",
		"Re(3): hello":                "hello",
		"[EXTERNAL] Re: hello":        "hello",
		"Re: [EXTERNAL]: hello":       "hello",
		"回复：你好":                       "你好",
		"Regarding: hello":            "Regarding: hello",
		"[contact:106] John Greene":   "[contact:106] John Greene",
		"Review: release notes":       "Review: release notes",
		"":                            "",
		"Re:":                         "",
	}
	for in, want := range tests {
		if got := NormalizeSubject(in); got != want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBodies(t *testing.T) {
	t.Parallel()
	t.Run("html only", func(t *testing.T) {
		t.Parallel()
		raw := crlf(`From: a@example.com
Subject: html
Content-Type: text/html; charset=utf-8

<html><head><title>T</title><style>p{color:red}</style></head><body>
<p>Hello&nbsp;team,</p><p>The <b>deploy</b> fails &amp; logs say &lt;timeout&gt;.<br>Second line</p>
<script>alert(1)</script><ul><li>one</li><li>two</li></ul>
<div>See <a href="https://status.example.com/x">status</a></div>
<div class="gmail_quote">On Mon, Jan 1, 2024 at 10:00 AM Bob &lt;bob@example.com&gt; wrote:<br>
<blockquote class="gmail_quote">old text<br>more old text</blockquote></div>
</body></html>
`)
		m := mustParse(t, raw)
		if !m.TextFromHTML {
			t.Error("TextFromHTML = false")
		}
		wantText := "Hello team,\n\nThe deploy fails & logs say <timeout>.\nSecond line\n\n- one\n- two\n\nSee status (https://status.example.com/x)\nOn Mon, Jan 1, 2024 at 10:00 AM Bob <bob@example.com> wrote:\n\n> old text\n> more old text"
		if m.Text != wantText {
			t.Errorf("Text =\n%q\nwant\n%q", m.Text, wantText)
		}
		wantVisible := "Hello team,\n\nThe deploy fails & logs say <timeout>.\nSecond line\n\n- one\n- two\n\nSee status (https://status.example.com/x)"
		if m.VisibleText != wantVisible {
			t.Errorf("VisibleText =\n%q\nwant\n%q", m.VisibleText, wantVisible)
		}
	})
	t.Run("alternative prefers text/plain", func(t *testing.T) {
		t.Parallel()
		raw := crlf(`From: a@example.com
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/html; charset=utf-8

<p>HTML version</p>
--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Plain version =E2=9C=93
--b1--
`)
		m := mustParse(t, raw)
		if m.Text != "Plain version ✓" || m.TextFromHTML {
			t.Errorf("Text = %q (from html %v)", m.Text, m.TextFromHTML)
		}
	})
	t.Run("nested mixed with related html and attachment", func(t *testing.T) {
		t.Parallel()
		content := []byte("%PDF-1.4 fake pdf content")
		sum := sha256.Sum256(content)
		raw := crlf(`From: a@example.com
Subject: nested
Content-Type: multipart/mixed; boundary=outer

preamble to ignore
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: multipart/related; boundary=rel

--rel
Content-Type: text/html; charset=utf-8

<div>Only html, with image <img src="cid:logo" alt="logo"></div>
--rel
Content-Type: image/png
Content-ID: <logo>
Content-Disposition: inline
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
--inner--
--outer
Content-Type: application/pdf; name=report.pdf
Content-Disposition: attachment; filename=report.pdf
Content-Transfer-Encoding: base64

` + base64.StdEncoding.EncodeToString(content) + `
--outer--
epilogue
`)
		m := mustParse(t, raw)
		if m.Text != "Only html, with image [logo]" || !m.TextFromHTML {
			t.Errorf("Text = %q", m.Text)
		}
		if len(m.Attachments) != 2 {
			t.Fatalf("Attachments = %+v", m.Attachments)
		}
		img, pdf := m.Attachments[0], m.Attachments[1]
		if img.ContentID != "logo" || !img.Inline || img.Size != 8 {
			t.Errorf("inline image = %+v", img)
		}
		if pdf.Filename != "report.pdf" || pdf.ContentType != "application/pdf" || pdf.Size != int64(len(content)) ||
			pdf.SHA256 != hex.EncodeToString(sum[:]) || pdf.HashedBytes != pdf.Size {
			t.Errorf("pdf = %+v", pdf)
		}
		if m.Quarantine != "" {
			t.Errorf("Quarantine = %q", m.Quarantine)
		}
	})
	t.Run("attachment hash cap", func(t *testing.T) {
		t.Parallel()
		raw := crlf("From: a@example.com\nSubject: big\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/octet-stream\n\n0123456789\n--B--\n")
		m, err := Parse(raw, Options{MaxAttachmentBytes: 4})
		if err != nil {
			t.Fatal(err)
		}
		a := m.Attachments[0]
		sum := sha256.Sum256([]byte("0123"))
		if a.Size != 10 || a.HashedBytes != 4 || a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("attachment = %+v", a)
		}
	})
}

func TestParseAuto(t *testing.T) {
	t.Parallel()
	base := "From: a@example.com\nSubject: Out of office\n"
	tests := []struct {
		name    string
		headers string
		opts    Options
		want    string
	}{
		{"person", "", Options{}, ""},
		{"auto-submitted no", "Auto-Submitted: no\n", Options{}, ""},
		{"auto-replied", "Auto-Submitted: auto-replied\n", Options{}, "auto-submitted: auto-replied"},
		{"auto-generated with params", "Auto-Submitted: Auto-Generated; owner-email=x@y\n", Options{}, "auto-submitted: auto-generated"},
		{"x-autoreply", "X-Autoreply: yes\n", Options{}, "x-autoreply: yes"},
		{"x-autorespond", "X-Autorespond: Vacation\n", Options{}, "x-autorespond: Vacation"},
		{"precedence bulk", "Precedence: Bulk\n", Options{}, "precedence: bulk"},
		{"precedence junk", "Precedence: junk\n", Options{}, "precedence: junk"},
		{"precedence list", "Precedence: list\n", Options{}, "precedence: list"},
		{"precedence list allowed", "Precedence: list\n", Options{AllowMailingLists: true}, ""},
		{"list-id", "List-Id: Riak Users <riak-users.lists.basho.com>\n", Options{}, "list-id: Riak Users <riak-users.lists.basho.com>"},
		{"list-id allowed", "List-Id: <x.example.com>\n", Options{AllowMailingLists: true}, ""},
		{"empty return-path", "Return-Path: <>\n", Options{}, "return-path: <> (bounce or automatic message)"},
		{"normal return-path", "Return-Path: <a@example.com>\n", Options{}, ""},
		{"suppress off by default", "X-Auto-Response-Suppress: All\n", Options{}, ""},
		{"suppress enabled", "X-Auto-Response-Suppress: All\n", Options{AutoResponseSuppress: true}, "x-auto-response-suppress: All"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse([]byte(base+tc.headers+"\nI am away.\n"), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Auto != tc.want {
				t.Errorf("Auto = %q, want %q", m.Auto, tc.want)
			}
		})
	}
}

func TestParseBounce(t *testing.T) {
	t.Parallel()
	raw := crlf(`Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@example.com>
To: support@feedbackhub.example
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="rpt"

--rpt
Content-Type: text/plain

This is the mail system. Your message could not be delivered.
--rpt
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
Final-Recipient: rfc822; nobody@example.org
Action: failed
Status: 5.1.1
--rpt
Content-Type: message/rfc822

From: support@feedbackhub.example
Subject: hello

original
--rpt--
`)
	m := mustParse(t, raw)
	// Return-Path is checked first; both are bounce signals.
	if !strings.Contains(m.Auto, "return-path: <>") {
		t.Errorf("Auto = %q", m.Auto)
	}
	delete(m.Headers, "Return-Path")
	if got := AutoReason(m.Headers, Options{}); got != "multipart/report; report-type=delivery-status (bounce or delivery report)" {
		t.Errorf("AutoReason without Return-Path = %q", got)
	}
	if m.Text != "This is the mail system. Your message could not be delivered." {
		t.Errorf("Text = %q", m.Text)
	}
	if len(m.Attachments) != 2 || m.Attachments[0].ContentType != "message/delivery-status" || m.Attachments[1].ContentType != "message/rfc822" {
		t.Errorf("Attachments = %+v", m.Attachments)
	}
	rec := ToRecord("inbox", m, raw, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	if rec.Quarantine != m.Auto {
		t.Errorf("record quarantine = %q", rec.Quarantine)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	t.Run("oversize", func(t *testing.T) {
		t.Parallel()
		raw := []byte("From: a@example.com\nSubject: big\n\n" + strings.Repeat("x", 100))
		_, err := Parse(raw, Options{MaxBytes: 64})
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want *ParseError wrapping ErrTooLarge", err)
		}
		want := "mailparse: message is 134 bytes, over the 64 byte limit"
		if err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
	})
	fatal := []struct {
		name string
		raw  string
		want string
	}{
		{"empty", "  \r\n", "mailparse: message is empty"},
		{"garbage", "\x00\x01\x02 not a mail\x7f", "mailparse: unreadable header: message: malformed MIME header line"},
		{"no header", "just some text\nand more\n", "mailparse: unreadable header: message: malformed MIME header line: just some text"},
		{"continuation first", " folded\nSubject: x\n\nbody", "mailparse: unreadable header: message: malformed MIME header initial line"},
	}
	for _, tc := range fatal {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse([]byte(tc.raw), Options{})
			var pe *ParseError
			if !errors.As(err, &pe) || m != nil {
				t.Fatalf("Parse = %v, %v; want a *ParseError", m, err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %q, want prefix %q", err, tc.want)
			}
		})
	}
	broken := []struct {
		name, raw, quarantine, text string
	}{
		{
			name:       "multipart without boundary",
			raw:        "From: a@example.com\nSubject: x\nContent-Type: multipart/mixed\n\nbody text\n",
			quarantine: "broken mime: message: multipart/mixed has no boundary parameter",
			text:       "body text",
		},
		{
			name:       "boundary never appears",
			raw:        "From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary=abc\n\n--xyz\nContent-Type: text/plain\n\nhello\n--xyz--\n",
			quarantine: `broken mime: message: multipart/mixed: no part starts with boundary "abc"`,
		},
		{
			name:       "truncated after first part",
			raw:        "From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary=abc\n\n--abc\nContent-Type: text/plain\n\nhello\n--abc\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBER",
			quarantine: "broken mime: part 2: body cut short",
			text:       "hello",
		},
	}
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := mustParse(t, []byte(tc.raw))
			if !strings.HasPrefix(m.Quarantine, tc.quarantine) {
				t.Errorf("Quarantine = %q, want prefix %q", m.Quarantine, tc.quarantine)
			}
			if m.Text != tc.text {
				t.Errorf("Text = %q, want %q", m.Text, tc.text)
			}
			rec := ToRecord("inbox", m, []byte(tc.raw), time.Time{})
			if rec.Quarantine != m.Quarantine {
				t.Errorf("record quarantine = %q", rec.Quarantine)
			}
		})
	}
}

func TestToRecord(t *testing.T) {
	t.Parallel()
	received := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	raw := crlf(`From: Jane <jane@acme.example>
To: support@feedbackhub.example
Subject: Re: Deploy fails
Date: Mon, 6 May 2024 09:00:00 +0200
Message-ID: <m2@acme.example>
In-Reply-To: <m1@feedbackhub.example>
References: <m0@acme.example> <m1@feedbackhub.example>
Content-Type: multipart/mixed; boundary=B

--B
Content-Type: text/plain

Still broken after the fix.

On Mon, May 6, 2024 at 8:00 AM Support <support@feedbackhub.example> wrote:
> Please retry.
--B
Content-Type: text/plain; name=log.txt
Content-Disposition: attachment; filename=log.txt

error 42
--B--
`)
	m := mustParse(t, raw)
	r := ToRecord("support-inbox", m, raw, received)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"ExternalID":  {r.ExternalID, "<m2@acme.example>"},
		"Revision":    {r.Revision, "1"},
		"Kind":        {string(r.Kind), string(feedback.KindEmail)},
		"Author":      {r.Author, "jane@acme.example"},
		"AuthorEmail": {r.AuthorEmail, "jane@acme.example"},
		"Title":       {r.Title, "Re: Deploy fails"},
		"Body":        {r.Body, "Still broken after the fix."},
		"ThreadRefs":  {strings.Join(r.ThreadRefs, " "), "<m1@feedbackhub.example> <m0@acme.example>"},
		"from_domain": {r.Meta["from_domain"], "acme.example"},
		"norm_subj":   {r.Meta["normalized_subject"], "Deploy fails"},
		"in_reply_to": {r.Meta["in_reply_to"], "<m1@feedbackhub.example>"},
		"Quarantine":  {r.Quarantine, ""},
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if !strings.Contains(r.Meta["attachments"], `"filename":"log.txt"`) {
		t.Errorf("attachments meta = %q", r.Meta["attachments"])
	}
	if !r.CreatedAt.Equal(time.Date(2024, 5, 6, 7, 0, 0, 0, time.UTC)) || !r.ReceivedAt.Equal(received) {
		t.Errorf("CreatedAt = %v ReceivedAt = %v", r.CreatedAt, r.ReceivedAt)
	}
	back, err := DecodeRaw(r.Raw)
	if err != nil || string(back) != string(raw) {
		t.Errorf("DecodeRaw = %q, %v", back, err)
	}

	// No Message-ID and no Date: hash id and the provided time.
	raw2 := []byte("From: x@y.example\nSubject: s\n\nhello\n")
	r2 := ToRecord("s", mustParse(t, raw2), raw2, received)
	sum := sha256.Sum256(raw2)
	if r2.ExternalID != "sha256:"+hex.EncodeToString(sum[:]) || !r2.CreatedAt.Equal(received) {
		t.Errorf("fallbacks: id %q created %v", r2.ExternalID, r2.CreatedAt)
	}
	if r3 := ToRecord("s", mustParse(t, raw2), raw2, received); r3.ExternalID != r2.ExternalID {
		t.Error("hash id is not stable")
	}

	// Only quoted text: body falls back to the full text.
	raw4 := []byte("From: x@y.example\nSubject: fwd\n\n> only quoted\n> text\n")
	if r4 := ToRecord("s", mustParse(t, raw4), raw4, received); r4.Body != "> only quoted\n> text" {
		t.Errorf("body fallback = %q", r4.Body)
	}
}

func TestQuarantineRecordAndRaw(t *testing.T) {
	t.Parallel()
	raw := []byte("\xff\xfe binary \x00 junk")
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r, m := Convert("files", raw, Options{}, at)
	if m != nil {
		t.Fatalf("message = %+v, want nil", m)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Quarantine, "mailparse: unreadable header") || r.Meta["raw_encoding"] != "base64" {
		t.Errorf("record = %+v", r)
	}
	back, err := DecodeRaw(r.Raw)
	if err != nil || string(back) != string(raw) {
		t.Errorf("raw round trip = %q, %v", back, err)
	}
	q := QuarantineRecord("files", []byte("x"), "", at)
	if q.Quarantine == "" || q.ExternalID == "" || !q.CreatedAt.Equal(at) {
		t.Errorf("QuarantineRecord = %+v", q)
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"plain":            "plain",
		"<p>a</p><p>b</p>": "a\n\nb",
		"a<br>b<br><br>c":  "a\nb\n\nc",
		"<table><tr><td>x</td><td>y</td></tr></table>": "x y",
		"<pre>  keep\n    indent</pre>":                "keep\n    indent",
		"x <!-- hidden --> y":                          "x y",
		"<STYLE>b{}</STYLE>Text&#8212;&euro;":          "Text—€",
		"unclosed <b":                                  "unclosed",
		"1 < 2 and <3":                                 "1 < 2 and <3",
		"<script>never closed":                         "",
	}
	for in, want := range tests {
		if got := HTMLToText(in); got != want {
			t.Errorf("HTMLToText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVisibleTextExtras(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"german header", "Danke!\n\nAm 01.02.2024 um 10:00 schrieb Max Mustermann <max@example.de>:\n> Hallo", "Danke!"},
		{"french header", "Merci\n\nLe lun. 5 févr. 2024 à 10:00, Jean <j@example.fr> a écrit :\n> Bonjour", "Merci"},
		{"wrapped header crlf", "Yes\r\n\r\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris\r\n<c@example.com> wrote:\r\n> q", "Yes"},
		{"thunderbird name wrote", "Fine.\n\nJane Doe wrote:\n> earlier", "Fine."},
		{"original message", "Top\n\n-----Original Message-----\nFrom: x\nbody", "Top"},
		{"sent from iphone", "Short reply\n\nSent from my iPhone", "Short reply"},
		{"signature mid inline reply is kept", "> q1\nanswer one\n\n-- \nme\n> q2\nanswer two", "answer one\n\n--\nme\n\nanswer two"},
		{"forwarded kept", "FYI\n\n---------- Forwarded message ---------\nFrom: Customer <c@x.example>\nDate: Mon\nSubject: broken\nTo: me\n\nIt is broken.",
			"FYI\n\n---------- Forwarded message ---------\nFrom: Customer <c@x.example>\nDate: Mon\nSubject: broken\nTo: me\n\nIt is broken."},
	}
	for _, tc := range tests {
		if got := VisibleText(tc.in); got != tc.want {
			t.Errorf("%s: VisibleText = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestToRecordNULMessageID: a Message-ID with a NUL byte cannot be a record identity
// (PostgreSQL text refuses it, and the store rejects it everywhere); the message is
// kept under the hash of its bytes, with the Message-ID as found in its metadata.
func TestToRecordNULMessageID(t *testing.T) {
	t.Parallel()
	raw := []byte("From: a@acme.example\nSubject: hi\nMessage-ID: <bad\x00id@acme.example>\n\nbody\n")
	m := mustParse(t, raw)
	r := ToRecord("support-inbox", m, raw, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.ExternalID != RawExternalID(raw) || !strings.Contains(r.Meta["external_id_from"], "NUL") || r.Meta["message_id"] != "<bad\x00id@acme.example>" {
		t.Fatalf("record: id %q, meta %q", r.ExternalID, r.Meta)
	}
}
