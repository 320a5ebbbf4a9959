package mailparse

import "strings"

// ThreadIDs lists the Message-IDs under which an earlier message of the same thread
// may already be stored, best match first: In-Reply-To, then References from newest
// (last) to oldest. The message's own ID and duplicates are left out.
func ThreadIDs(m *Message) []string {
	if m == nil {
		return nil
	}
	seen := map[string]bool{m.MessageID: true, "": true}
	var ids []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	add(m.InReplyTo)
	for i := len(m.References) - 1; i >= 0; i-- {
		add(m.References[i])
	}
	return ids
}

// SubjectThreadKey is the fallback thread key for mail whose IDs match nothing: the
// lower-cased normalized subject and the sender's domain, as "subject|domain". It is
// empty when the normalized subject is empty, since an empty subject groups nothing.
func SubjectThreadKey(m *Message) string {
	if m == nil {
		return ""
	}
	s := strings.ToLower(m.NormalizedSubject)
	if s == "" {
		return ""
	}
	return s + "|" + m.FromDomain
}
