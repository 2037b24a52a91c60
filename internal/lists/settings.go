package lists

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SettingsVersion is the version of the Settings JSON this package writes.
// Stored settings with a higher version (written by a newer Posthorn) are
// refused instead of being half understood.
const SettingsVersion = 1

// ReplyTo is a list's Reply-To policy.
type ReplyTo string

const (
	ReplyToPoster   ReplyTo = "poster"   // leave Reply-To alone (no munging)
	ReplyToList     ReplyTo = "list"     // point Reply-To at the list
	ReplyToExplicit ReplyTo = "explicit" // point Reply-To at Settings.ReplyToAddress
)

// HeaderMatch is a header-match rule: if a value of Header matches the
// regular expression Pattern (case-insensitive), Action applies. Defer
// records the hit without deciding.
type HeaderMatch struct {
	Header  string `json:"header"`
	Pattern string `json:"pattern"`
	Action  Action `json:"action"`
}

// HeaderPattern is a suspicious-header check: a value of Header matching
// Pattern (case-insensitive regular expression) is a hit.
type HeaderPattern struct {
	Header  string `json:"header"`
	Pattern string `json:"pattern"`
}

// Settings are a list's typed settings, stored as JSON with a version. Load
// starts from DefaultSettings and decodes the stored JSON over it, so a
// setting missing from the stored JSON keeps its default, never a zero value.
type Settings struct {
	Version                int      `json:"version"`
	SubscriptionPolicy     Policy   `json:"subscription_policy"`
	DefaultMemberAction    Action   `json:"default_member_action"`
	DefaultNonmemberAction Action   `json:"default_nonmember_action"`
	EmergencyModeration    bool     `json:"emergency_moderation"`
	MaxMessageSize         int64    `json:"max_message_size"` // bytes; 0 = no limit
	MaxRecipients          int      `json:"max_recipients"`   // To+Cc addresses; 0 = no limit
	RequireSubject         bool     `json:"require_subject"`
	AdministriviaCheck     bool     `json:"administrivia_check"`
	RequireExplicitDest    bool     `json:"require_explicit_destination"`
	AcceptableAliases      []string `json:"acceptable_aliases"` // exact or ^regex, for implicit-destination
	// BannedAddresses are exact addresses (case-insensitive) or, when they
	// start with "^", regular expressions matched against the lowercased address.
	BannedAddresses   []string        `json:"banned_addresses"`
	HeaderMatches     []HeaderMatch   `json:"header_matches"`
	SuspiciousHeaders []HeaderPattern `json:"suspicious_headers"`
	// Advertised shows the list on the public index of lists; an
	// unadvertised list is still reachable by its address and pages.
	Advertised bool `json:"advertised"`
	// ArchivePolicy says who may read the archive, or that posts are not
	// archived at all (none: the archive hook is not called).
	ArchivePolicy ArchivePolicy `json:"archive_policy"`
	// Archive and ArchivePrivate are the former spelling of ArchivePolicy
	// (archive = policy is not none, archive_private = policy is private),
	// still read from settings stored before archive_policy existed.
	//
	// Deprecated: use ArchivePolicy. They are filled from it when settings
	// are loaded (DefaultSettings, the store, SetField) and ignored when
	// settings are stored.
	Archive        bool    `json:"-"`
	ArchivePrivate bool    `json:"-"`
	ReplyTo        ReplyTo `json:"reply_to"`
	ReplyToAddress string  `json:"reply_to_address"`
	SubjectPrefix  string  `json:"subject_prefix"`
	// ConfirmDays is how long a confirmation token stays valid.
	ConfirmDays int `json:"confirm_days"`
	// Header and Footer are text put before and after the body of each
	// distributed post (MIME-safe: see listserv). Placeholders: {list},
	// {list_name}, {list_address}, {list_url}, {archive_url},
	// {unsubscribe_url}, {unsubscribe_address}, {owner_address}.
	Header string `json:"header"`
	Footer string `json:"footer"`
	// DMARCMitigation says what to do with a post whose From domain
	// publishes a DMARC policy of reject or quarantine.
	DMARCMitigation DMARCMitigation `json:"dmarc_mitigation"`
	// DMARCMitigateUnconditionally applies DMARCMitigation to every post,
	// without looking up the author's policy.
	DMARCMitigateUnconditionally bool `json:"dmarc_mitigate_unconditionally"`
	// DigestEnabled lets members choose digest delivery. When it is off,
	// members in digest mode receive each post like everybody else.
	DigestEnabled bool `json:"digest_enabled"`
	// DigestSizeThreshold sends a digest once the collected posts reach
	// this many kilobytes; 0 = no size trigger.
	DigestSizeThreshold int `json:"digest_size_threshold"`
	// DigestInterval sends a digest at the latest this long after the
	// oldest post in it.
	DigestInterval DigestInterval `json:"digest_interval"`
}

// ArchivePolicy is who may read a list's archive.
type ArchivePolicy string

const (
	ArchivePolicyPublic  ArchivePolicy = "public"  // anybody
	ArchivePolicyPrivate ArchivePolicy = "private" // members (and the list's staff) only
	ArchivePolicyNone    ArchivePolicy = "none"    // posts are not archived
)

// Archived reports whether posts of a list with policy p are archived.
func (p ArchivePolicy) Archived() bool { return p == ArchivePolicyPublic || p == ArchivePolicyPrivate }

// mirrorArchive fills the deprecated Archive and ArchivePrivate from
// ArchivePolicy.
func (s *Settings) mirrorArchive() {
	s.Archive = s.ArchivePolicy.Archived()
	s.ArchivePrivate = s.ArchivePolicy == ArchivePolicyPrivate
}

// DMARCMitigation is a list's answer to posters whose domain publishes a
// strict DMARC policy (the meaning of Mailman 3's dmarc_mitigate_action).
type DMARCMitigation string

const (
	DMARCNone      DMARCMitigation = "none"         // send as is
	DMARCMungeFrom DMARCMitigation = "munge_from"   // From: "Name via List" <list>, author in Reply-To/Cc
	DMARCWrap      DMARCMitigation = "wrap_message" // the post as a message/rfc822 attachment of a list message
)

// DigestInterval is the longest a post waits in a digest.
type DigestInterval string

const (
	DigestDaily  DigestInterval = "daily"
	DigestWeekly DigestInterval = "weekly"
)

// Duration is the length of the interval.
func (d DigestInterval) Duration() time.Duration {
	if d == DigestWeekly {
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// DefaultSettings are the settings of a new list called name (the local
// part of its address). Members' posts are accepted and non-members' held.
func DefaultSettings(name string) Settings {
	return Settings{
		Version:                SettingsVersion,
		SubscriptionPolicy:     PolicyConfirm,
		DefaultMemberAction:    Accept,
		DefaultNonmemberAction: Hold,
		MaxMessageSize:         1 << 20,
		MaxRecipients:          10,
		RequireSubject:         true,
		AdministriviaCheck:     true,
		RequireExplicitDest:    true,
		Advertised:             true,
		ArchivePolicy:          ArchivePolicyPublic,
		Archive:                true,
		ReplyTo:                ReplyToPoster,
		SubjectPrefix:          "[" + name + "] ",
		ConfirmDays:            3,
		DMARCMitigation:        DMARCNone,
		DigestEnabled:          true,
		DigestSizeThreshold:    30,
		DigestInterval:         DigestDaily,
	}
}

// SettingsError lists every problem found in a Settings value.
type SettingsError struct {
	Problems []string
}

func (e *SettingsError) Error() string {
	return "lists: invalid settings: " + strings.Join(e.Problems, "; ")
}

// Validate returns a *SettingsError listing all problems, or nil.
func (s *Settings) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if s.Version < 1 || s.Version > SettingsVersion {
		add("version %d: this program knows 1..%d", s.Version, SettingsVersion)
	}
	if !s.SubscriptionPolicy.Valid() {
		add("subscription_policy %q: want open, confirm, moderate or confirm-then-moderate", s.SubscriptionPolicy)
	}
	if !s.DefaultMemberAction.Valid() {
		add("default_member_action %q: want accept, hold, reject, discard or defer", s.DefaultMemberAction)
	}
	if !s.DefaultNonmemberAction.Valid() {
		add("default_nonmember_action %q: want accept, hold, reject, discard or defer", s.DefaultNonmemberAction)
	}
	if s.MaxMessageSize < 0 {
		add("max_message_size %d: must be >= 0", s.MaxMessageSize)
	}
	if s.MaxRecipients < 0 {
		add("max_recipients %d: must be >= 0", s.MaxRecipients)
	}
	if s.ConfirmDays < 1 {
		add("confirm_days %d: must be >= 1", s.ConfirmDays)
	}
	switch s.ReplyTo {
	case ReplyToPoster, ReplyToList:
	case ReplyToExplicit:
		if s.ReplyToAddress == "" {
			add("reply_to explicit needs reply_to_address")
		}
	default:
		add("reply_to %q: want poster, list or explicit", s.ReplyTo)
	}
	switch s.ArchivePolicy {
	case ArchivePolicyPublic, ArchivePolicyPrivate, ArchivePolicyNone:
	default:
		add("archive_policy %q: want public, private or none", s.ArchivePolicy)
	}
	switch s.DMARCMitigation {
	case DMARCNone, DMARCMungeFrom, DMARCWrap:
	default:
		add("dmarc_mitigation %q: want none, munge_from or wrap_message", s.DMARCMitigation)
	}
	if s.DigestSizeThreshold < 0 {
		add("digest_size_threshold %d: must be >= 0", s.DigestSizeThreshold)
	}
	switch s.DigestInterval {
	case DigestDaily, DigestWeekly:
	default:
		add("digest_interval %q: want daily or weekly", s.DigestInterval)
	}
	for i, b := range s.BannedAddresses {
		if err := checkAddrPattern(b); err != nil {
			add("banned_addresses[%d] %q: %v", i, b, err)
		}
	}
	for i, b := range s.AcceptableAliases {
		if err := checkAddrPattern(b); err != nil {
			add("acceptable_aliases[%d] %q: %v", i, b, err)
		}
	}
	for i, m := range s.HeaderMatches {
		if strings.TrimSpace(m.Header) == "" {
			add("header_matches[%d]: empty header", i)
		}
		if _, err := regexp.Compile(m.Pattern); err != nil {
			add("header_matches[%d] pattern %q: %v", i, m.Pattern, err)
		}
		if !m.Action.Valid() {
			add("header_matches[%d] action %q: want accept, hold, reject, discard or defer", i, m.Action)
		}
	}
	for i, m := range s.SuspiciousHeaders {
		if strings.TrimSpace(m.Header) == "" {
			add("suspicious_headers[%d]: empty header", i)
		}
		if _, err := regexp.Compile(m.Pattern); err != nil {
			add("suspicious_headers[%d] pattern %q: %v", i, m.Pattern, err)
		}
	}
	if len(p) > 0 {
		return &SettingsError{Problems: p}
	}
	return nil
}

func checkAddrPattern(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if strings.HasPrefix(s, "^") {
		_, err := regexp.Compile(s)
		return err
	}
	if !strings.Contains(s, "@") {
		return fmt.Errorf("not an address (a regular expression starts with ^)")
	}
	return nil
}

// marshalSettings encodes s for storage.
func marshalSettings(s Settings) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// storedSettings is Settings as stored, with the keys it had before
// archive_policy.
type storedSettings struct {
	Settings
	OldArchive        *bool `json:"archive"`
	OldArchivePrivate *bool `json:"archive_private"`
}

// unmarshalSettings decodes stored settings over the defaults of the list
// called name. Unknown keys and versions newer than SettingsVersion are
// errors. Settings stored with archive/archive_private instead of
// archive_policy get the policy they meant.
func unmarshalSettings(name string, data []byte) (Settings, error) {
	st := storedSettings{Settings: DefaultSettings(name)}
	st.Version = 0
	st.ArchivePolicy = ""
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return Settings{}, &SettingsError{Problems: []string{"stored settings: " + err.Error()}}
	}
	s := st.Settings
	if s.ArchivePolicy == "" {
		switch {
		case st.OldArchive != nil && !*st.OldArchive:
			s.ArchivePolicy = ArchivePolicyNone
		case st.OldArchivePrivate != nil && *st.OldArchivePrivate:
			s.ArchivePolicy = ArchivePolicyPrivate
		default:
			s.ArchivePolicy = ArchivePolicyPublic
		}
	}
	s.mirrorArchive()
	if s.Version == 0 {
		return Settings{}, &SettingsError{Problems: []string{"stored settings have no version"}}
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}
