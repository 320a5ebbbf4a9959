package main

import (
	"bytes"
	"fmt"
	"html"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Message is one rendered mail with the time it sorts by in the mbox.
type Message struct {
	At       time.Time
	Envelope string // sender on the "From " line
	Raw      string // headers and body, LF line endings, not yet mboxrd-escaped
	Entry    Truth
}

var greetings = []string{"Hi team,", "Hello FeedbackHub support,", "Hi all,", "Hi,", "Good morning,", "Hello,", "Hi support team,"}
var closings = []string{"Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Thanks in advance,", "Best,", "Regards,"}

var supportAnswers = []string{
	"Hi {first},\n\nthanks for the detailed report. I've passed this to our engineering team and opened {ref} to track it. Could you send us a diagnostics bundle (feedbackhub-agent diag --since 24h) from one affected host?\n\nBest,\nJonas\nFeedbackHub Support",
	"Hello {first},\n\nwe can reproduce something similar on our side and are investigating under {ref}. I'll get back to you by tomorrow with an update or a workaround.\n\nKind regards,\nAmelia | FeedbackHub Support",
	"Hi {first}, thanks for reaching out. A couple of questions so we can narrow this down: which version are you on, and did this start after a specific change on your side? Our reference is {ref}.\n\nCheers,\nJonas",
	"Hi {first},\n\nsorry for the trouble. This is with the right team now ({ref}). In the meantime, can you confirm whether all of your environments are affected or only production?\n\nAmelia\nFeedbackHub Support",
}

// visibleMail is what the sender wrote: greeting, body, closing and name, without
// signature.
func (c *Composer) visibleMail(r *Report, blocks []string) string {
	var b strings.Builder
	if r.Seq%5 != 3 {
		b.WriteString(pick(greetings, r.Seq) + "\n\n")
	}
	b.WriteString(plainBlocks(blocks, 72))
	b.WriteString("\n\n" + pick(closings, r.Seq+r.Idx) + "\n" + r.Who.First())
	return b.String()
}

func signature(r *Report) string {
	switch r.Who.Sig {
	case "iphone":
		return "\n\nSent from my iPhone"
	case "full":
		s := "\n\n-- \n" + r.Who.Name + "\n" + r.Who.Role + ", " + r.P.Name
		if r.Who.Phone != "" {
			s += "\n" + r.Who.Phone
		}
		return s
	}
	return ""
}

// quoteHeader introduces a quoted message in the sender's mail client style.
func quoteHeader(mailer string, from Person, at time.Time, to Person, subject string) string {
	addr := (&mail.Address{Name: from.Name, Address: from.Email}).String()
	switch mailer {
	case "gmail":
		return fmt.Sprintf("On %s %s wrote:", at.Format("Mon, Jan 2, 2006 at 3:04 PM"), addr)
	case "apple":
		return fmt.Sprintf("On %s, at %s, %s wrote:", at.Format("2 Jan 2006"), at.Format("15:04"), addr)
	case "thunderbird":
		return fmt.Sprintf("On %s, %s wrote:", at.Format("02.01.06 15:04"), from.Name)
	case "outlook":
		return fmt.Sprintf("________________________________\nFrom: %s\nSent: %s\nTo: %s\nSubject: %s",
			addr, at.Format("Monday, January 2, 2006 3:04 PM"), (&mail.Address{Name: to.Name, Address: to.Email}).String(), subject)
	}
	return fmt.Sprintf("On %s, %s wrote:", at.Format("Mon, 2 Jan 2006 15:04"), addr)
}

func quoteLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" || strings.HasPrefix(l, ">") {
			lines[i] = ">" + l
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

// RenderMail renders the mail items and replies, the auto-reply and the bounce.
func (c *Composer) RenderMail() ([]Message, error) {
	var msgs []Message
	visible := map[string]string{}
	for _, r := range c.All {
		switch r.Src {
		case "mail":
			t := c.Compose(r)
			r.Subject = t.Title
			text := c.visibleMail(r, t.Blocks)
			visible[r.Tag] = text
			m := c.message(r, nil, text+signature(r), "")
			m.Entry = truth(r, "mail", r.MsgID, "item")
			msgs = append(msgs, m)
		case "mailreply":
			parent := c.Tags[r.Parent]
			r.Subject = "Re: " + strings.TrimPrefix(parent.Subject, "Re: ")
			mailer := r.P.Mailer
			reply := c.ReplyText(r)
			text := wrap(reply, 72) + "\n\n" + pick(closings, r.Seq) + "\n" + r.Who.First()
			var quoted string
			if r.Via == "self" {
				quoted = quoteHeader(mailer, parent.Who, parent.At.In(r.At.Location()), r.Who, parent.Subject)
				body := visible[parent.Tag]
				if mailer == "outlook" {
					quoted += "\n\n" + body
				} else {
					quoted += "\n" + quoteLines(body)
				}
			} else {
				sat := parent.At.Add(r.At.Sub(parent.At) / 2).In(r.At.Location())
				ref := fmt.Sprintf("case #%d", 48000+r.Seq*11)
				if t := c.Tags[r.Ref]; t != nil && t.Src == "jira" {
					ref = t.Key
				}
				ans := strings.NewReplacer("{first}", parent.Who.First(), "{ref}", ref).Replace(pick(supportAnswers, r.Seq))
				ans = wrap(ans, 72)
				inner := quoteHeader("plain", parent.Who, parent.At.In(r.At.Location()), Support, parent.Subject) + "\n" + quoteLines(visible[parent.Tag])
				if mailer == "outlook" {
					quoted = quoteHeader(mailer, Support, sat, r.Who, parent.Subject) + "\n\n" + ans + "\n\n" + inner
				} else {
					quoted = quoteHeader(mailer, Support, sat, r.Who, parent.Subject) + "\n" + quoteLines(ans+"\n\n"+inner)
				}
			}
			full := text + signature(r) + "\n\n" + quoted
			m := c.message(r, parent, full, "")
			m.Entry = truth(r, "mail", r.MsgID, "reply")
			msgs = append(msgs, m)
			visible[r.MsgID] = text
		}
	}
	msgs = append(msgs, c.autoReply(), bounce())
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].At.Before(msgs[j].At) })
	return msgs, nil
}

// message builds the headers and MIME body of a report.
func (c *Composer) message(r *Report, parent *Report, text, extraHeaders string) Message {
	var h strings.Builder
	from := (&mail.Address{Name: r.Who.Name, Address: r.Who.Email}).String()
	if r.Who.Charset == "iso-8859-1" {
		from = "=?iso-8859-1?Q?" + qEncodeLatin1(r.Who.Name) + "?= <" + r.Who.Email + ">"
	}
	fmt.Fprintf(&h, "Return-Path: <%s>\n", r.Who.Email)
	fmt.Fprintf(&h, "Received: from mx.%s (mx.%s [198.51.100.%d])\n\tby mx1.feedbackhub.example (Postfix) with ESMTPS id %X\n\tfor <%s>; %s\n",
		r.P.Domain, r.P.Domain, 10+hash64(r.P.ID)%200, hash64(r.MsgID)&0xffffffffff, SupportTo, r.At.Add(3*time.Second).UTC().Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)"))
	fmt.Fprintf(&h, "Message-ID: %s\n", r.MsgID)
	fmt.Fprintf(&h, "Date: %s\n", r.At.Format(time.RFC1123Z))
	fmt.Fprintf(&h, "From: %s\n", from)
	fmt.Fprintf(&h, "To: FeedbackHub Support <%s>\n", SupportTo)
	subject := r.Subject
	if !isASCII(subject) {
		cs := "utf-8"
		if r.Who.Charset != "" {
			cs = r.Who.Charset
		}
		subject = mime.QEncoding.Encode(cs, subject)
		if cs != "utf-8" {
			subject = "=?" + cs + "?Q?" + qEncodeLatin1(r.Subject) + "?="
		}
	}
	fmt.Fprintf(&h, "Subject: %s\n", subject)
	if parent != nil {
		inReply := parent.MsgID
		refs := parent.MsgID
		if r.SupportID != "" {
			inReply = r.SupportID
			refs += "\n " + r.SupportID
		}
		fmt.Fprintf(&h, "In-Reply-To: %s\nReferences: %s\n", inReply, refs)
	}
	h.WriteString(extraHeaders)
	h.WriteString("MIME-Version: 1.0\n")
	var body string
	switch {
	case r.Who.Charset == "iso-8859-1":
		h.WriteString("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n")
		body = qpLatin1(text)
	case r.P.Mailer == "apple":
		h.WriteString("Content-Type: text/plain;\n\tcharset=utf-8\nContent-Transfer-Encoding: quoted-printable\n")
		body = qp(text)
	case r.P.Mailer == "gmail" || (r.P.Mailer == "outlook" && r.Seq%3 == 0):
		boundary := fmt.Sprintf("000000000000%012x", hash64("b", r.MsgID)&0xffffffffffff)
		if r.P.Mailer == "outlook" {
			boundary = fmt.Sprintf("_000_%s_", strings.Trim(strings.SplitN(r.MsgID, "@", 2)[0], "<"))
		}
		fmt.Fprintf(&h, "Content-Type: multipart/alternative; boundary=\"%s\"\n", boundary)
		body = multipartAlt(boundary, text, htmlOf(text))
	case r.P.Mailer == "thunderbird":
		h.WriteString("Content-Type: text/plain; charset=UTF-8; format=flowed\n")
		body = text
		if isASCII(text) {
			h.WriteString("Content-Transfer-Encoding: 7bit\n")
		} else {
			h.WriteString("Content-Transfer-Encoding: 8bit\n")
		}
	default:
		h.WriteString("Content-Type: text/plain; charset=utf-8\n")
		body = text
		if isASCII(text) {
			h.WriteString("Content-Transfer-Encoding: 7bit\n")
		} else {
			h.WriteString("Content-Transfer-Encoding: 8bit\n")
		}
	}
	switch r.P.Mailer {
	case "thunderbird":
		h.WriteString("User-Agent: Mozilla Thunderbird\n")
	case "apple":
		if r.Who.Sig == "iphone" {
			h.WriteString("X-Mailer: iPhone Mail (22A3354)\n")
		} else {
			h.WriteString("X-Mailer: Apple Mail (2.3826.600.51.1.1)\n")
		}
	case "outlook":
		h.WriteString("X-MS-Has-Attach: \nX-MS-TNEF-Correlator: \n")
	}
	return Message{At: r.At, Envelope: r.Who.Email, Raw: h.String() + "\n" + body + "\n"}
}

func multipartAlt(boundary, text, htmlBody string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--%s\nContent-Type: text/plain; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n\n%s\n", boundary, qp(text))
	fmt.Fprintf(&b, "--%s\nContent-Type: text/html; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n\n%s\n", boundary, qp(htmlBody))
	fmt.Fprintf(&b, "--%s--", boundary)
	return b.String()
}

// htmlOf turns a plain mail text into the simple HTML a mail client would send,
// with quoted lines as a blockquote.
func htmlOf(text string) string {
	var b strings.Builder
	b.WriteString("<div dir=\"ltr\">")
	inQuote := false
	for _, para := range strings.Split(text, "\n\n") {
		q := strings.HasPrefix(para, ">")
		if q && !inQuote {
			b.WriteString("<blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex\">")
			inQuote = true
		}
		lines := strings.Split(para, "\n")
		for i, l := range lines {
			lines[i] = html.EscapeString(strings.TrimPrefix(strings.TrimPrefix(l, ">"), " "))
		}
		b.WriteString("<div>" + strings.Join(lines, "<br>") + "</div>")
	}
	if inQuote {
		b.WriteString("</blockquote>")
	}
	b.WriteString("</div>")
	return b.String()
}

func qp(s string) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write([]byte(s))
	w.Close()
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

// qpLatin1 encodes s as ISO-8859-1 and then quoted-printable.
func qpLatin1(s string) string {
	var raw []byte
	for _, r := range s {
		if r < 256 {
			raw = append(raw, byte(r))
		} else {
			raw = append(raw, '?')
		}
	}
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	w.Write(raw)
	w.Close()
	return strings.ReplaceAll(buf.String(), "\r\n", "\n")
}

// qEncodeLatin1 is the RFC 2047 Q encoding of s in ISO-8859-1.
func qEncodeLatin1(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ':
			b.WriteByte('_')
		case r < 128 && r > 32 && r != '=' && r != '?' && r != '_':
			b.WriteRune(r)
		case r < 256:
			fmt.Fprintf(&b, "=%02X", r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 128 {
			return false
		}
	}
	return true
}

var fromLine = regexp.MustCompile(`(?m)^(>*From )`)

// Mbox writes the messages as an mboxrd file.
func Mbox(msgs []Message) []byte {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "From %s %s\n", m.Envelope, m.At.UTC().Format("Mon Jan _2 15:04:05 2006"))
		b.WriteString(fromLine.ReplaceAllString(m.Raw, ">$1"))
	}
	return []byte(b.String())
}

// autoReply is the one out-of-office answer in the inbox: Frauke's answer to
// support's reply in her double-charge thread.
func (c *Composer) autoReply() Message {
	p := partnerByID("northwind")
	who := p.People[2]
	parent := c.Tags["dc-nw-mail"]
	supportID := fmt.Sprintf("<fh-support-%x@feedbackhub.example>", hash64("support-ooo", parent.MsgID)&0xffffffffff)
	loc, _ := time.LoadLocation(p.TZ)
	at := time.Date(2026, 10, 13, 16, 41, 7, 0, loc)
	id := "<AM6PR04MB5127C1D0E2F3A4B5C6D7E8F9A0B1C2D3@AM6PR04MB5127.eurprd04.prod.outlook.com>"
	raw := fmt.Sprintf(`Return-Path: <%s>
Message-ID: %s
Date: %s
From: %s
To: FeedbackHub Support <%s>
Subject: Automatic reply: Re: %s
In-Reply-To: %s
References: %s
 %s
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: %s
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit

Out of office

Thank you for your message. I am out of the office until Monday, 19 October,
with limited access to email. For urgent invoice or payment questions please
contact accounts-payable@northwind.example.

Frauke Meier
`, who.Email, id, at.Format(time.RFC1123Z), (&mail.Address{Name: who.Name, Address: who.Email}).String(), SupportTo,
		parent.Subject, supportID, parent.MsgID, supportID, who.Email)
	e := Truth{Source: "mail", ExternalID: id, Cluster: "none", Category: "other", Partner: "northwind", Kind: "auto-reply"}
	return Message{At: at, Envelope: who.Email, Raw: raw, Entry: e}
}

// bounce is the one delivery failure in the inbox: support's answer to a Wingtip
// address that no longer exists.
func bounce() Message {
	at := time.Date(2026, 11, 10, 15, 22, 3, 0, time.UTC)
	id := "<20261110152203.4C1A2E0F3B@mx1.feedbackhub.example>"
	b := "4C1A2E0F3B.1794324123/mx1.feedbackhub.example"
	raw := `Return-Path: <>
Received: by mx1.feedbackhub.example (Postfix)
	id 4C1A2E0F3B; Tue, 10 Nov 2026 15:22:03 +0000 (UTC)
Date: Tue, 10 Nov 2026 15:22:03 +0000 (UTC)
From: MAILER-DAEMON@mx1.feedbackhub.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@feedbackhub.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="` + b + `"
Content-Transfer-Encoding: 7bit
Message-Id: ` + id + `

This is a MIME-encapsulated message.

--` + b + `
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.feedbackhub.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<ben.fischer@wingtip.example>: host mx.wingtip.example[198.51.100.77] said:
    550 5.1.1 <ben.fischer@wingtip.example>: Recipient address rejected: User
    unknown in virtual mailbox table (in reply to RCPT TO command)

--` + b + `
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.feedbackhub.example
X-Postfix-Queue-ID: 4C1A2E0F3B
X-Postfix-Sender: rfc822; support@feedbackhub.example
Arrival-Date: Tue, 10 Nov 2026 15:22:01 +0000 (UTC)

Final-Recipient: rfc822; ben.fischer@wingtip.example
Original-Recipient: rfc822;ben.fischer@wingtip.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.wingtip.example
Diagnostic-Code: smtp; 550 5.1.1 <ben.fischer@wingtip.example>: Recipient
    address rejected: User unknown in virtual mailbox table

--` + b + `
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <support@feedbackhub.example>
Received: from app-3.feedbackhub.example (app-3.feedbackhub.example [10.8.0.23])
	by mx1.feedbackhub.example (Postfix) with ESMTPS id 4C1A2E0F3B
	for <ben.fischer@wingtip.example>; Tue, 10 Nov 2026 15:22:01 +0000 (UTC)
Message-ID: <fh-support-2f9b61c0d4@feedbackhub.example>
Date: Tue, 10 Nov 2026 15:21:58 +0000
From: FeedbackHub Support <support@feedbackhub.example>
To: Ben Fischer <ben.fischer@wingtip.example>
Subject: Re: Payment reminder sent to the wrong person
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

--` + b + `--
`
	e := Truth{Source: "mail", ExternalID: id, Cluster: "none", Category: "other", Partner: "unknown", Kind: "bounce"}
	return Message{At: at, Envelope: "MAILER-DAEMON", Raw: raw, Entry: e}
}
