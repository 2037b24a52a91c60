// Package synth generates deterministic synthetic list traffic for archive
// benchmarks: about 2 KB messages with Zipf-distributed words and authors,
// grouped in threads (References and In-Reply-To chains, "Re:" subjects).
//
// The same seed always yields the same messages, so an import benchmark can
// be repeated and its archive searched with words known to occur.
package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Vocabulary is the number of distinct words; word rank 0 is the most
// frequent (Zipf).
const Vocabulary = 20000

const (
	authors    = 3000
	bodyBytes  = 1700 // body text; headers bring a message to about 2 KB
	openMax    = 40   // threads still receiving replies
	newThread  = 35   // percent of messages that start a thread
	maxReplies = 120  // longest thread, in replies
)

// Generator produces messages one after another.
type Generator struct {
	r      *rand.Rand
	words  *rand.Zipf
	people *rand.Zipf
	date   time.Time
	n      int
	sizes  *rand.Zipf
	open   []*thread
}

type post struct {
	id   string
	refs []string
}

// thread is a discussion that receives replies until left runs out.
type thread struct {
	subject string
	posts   []post
	left    int
}

// New returns a generator; the first message is dated 2000-01-01.
func New(seed uint64) *Generator {
	r := rand.New(rand.NewPCG(seed, 0x706f7374686f726e))
	return &Generator{
		r:      r,
		words:  rand.NewZipf(r, 1.1, 2, Vocabulary-1),
		people: rand.NewZipf(r, 1.2, 4, authors-1),
		sizes:  rand.NewZipf(r, 1.3, 3, maxReplies),
		date:   time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// Word returns the word of a rank (0 ≤ rank < Vocabulary).
func Word(rank int) string {
	syl := [...]string{"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fe", "gi", "ho", "ju", "pa",
		"qui", "ze", "xa", "wo", "yu", "ber", "tan", "mel", "dor", "fin", "gal", "hus", "lin", "mor", "pel"}
	n := len(syl)
	w := syl[rank%n] + syl[(rank/n)%n]
	if rank >= n*n {
		w += syl[(rank/(n*n))%n]
	}
	return w
}

func (g *Generator) text(words int) string {
	var b strings.Builder
	for i := range words {
		if i > 0 {
			if i%12 == 0 {
				b.WriteString(".\n")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(Word(int(g.words.Uint64())))
	}
	return b.String()
}

// Next returns the next message and its date.
func (g *Generator) Next() ([]byte, time.Time) {
	g.n++
	g.date = g.date.Add(time.Duration(g.r.IntN(1200)) * time.Second)
	id := fmt.Sprintf("%d.%x@synth.example.org", g.n, g.r.Uint32())
	p := post{id: id}
	var irt, subject string
	if len(g.open) > 0 && g.r.IntN(100) >= newThread {
		ti := g.r.IntN(len(g.open))
		t := g.open[ti]
		// Replies go mostly to the latest posts of a thread.
		parent := t.posts[len(t.posts)-1-g.r.IntN(min(len(t.posts), 4))]
		p.refs = append(append([]string(nil), parent.refs...), parent.id)
		if len(p.refs) > 20 {
			p.refs = p.refs[len(p.refs)-20:]
		}
		irt, subject = parent.id, "Re: "+t.subject
		t.posts = append(t.posts, p)
		if t.left--; t.left <= 0 {
			g.open = append(g.open[:ti], g.open[ti+1:]...)
		}
	} else {
		t := &thread{subject: strings.ReplaceAll(g.text(5), ".\n", " "), posts: []post{p}, left: int(g.sizes.Uint64())}
		t.subject = strings.ToUpper(t.subject[:1]) + t.subject[1:]
		subject = t.subject
		if t.left > 0 {
			if len(g.open) == openMax {
				g.open = g.open[1:]
			}
			g.open = append(g.open, t)
		}
	}

	who := int(g.people.Uint64())
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s %s <user%d@example.org>\n", strings.Title(Word(who%500)), strings.Title(Word(500+who)), who) //nolint:staticcheck // ASCII words
	b.WriteString("To: dev@lists.example.org\n")
	fmt.Fprintf(&b, "Subject: [dev] %s\n", subject)
	fmt.Fprintf(&b, "Date: %s\n", g.date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\n", id)
	if irt != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\n", irt)
		b.WriteString("References:")
		for _, r := range p.refs {
			fmt.Fprintf(&b, "\n <%s>", r)
		}
		b.WriteByte('\n')
	}
	b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nList-Id: <dev.lists.example.org>\n\n")
	body := g.text(bodyBytes / 7)
	if len(body) > bodyBytes {
		body = body[:bodyBytes]
	}
	b.WriteString(body)
	b.WriteString("\n")
	return []byte(b.String()), g.date
}

// Source yields N messages of a generator with the archive's Source
// signature (offsets are cumulative sizes, as in an mbox).
type Source struct {
	G   *Generator
	N   int
	i   int
	off int64
}

// Next returns the next message, io.EOF after N.
func (s *Source) Next() ([]byte, int64, time.Time, error) {
	if s.i >= s.N {
		return nil, 0, time.Time{}, io.EOF
	}
	s.i++
	raw, d := s.G.Next()
	off := s.off
	s.off += int64(len(raw))
	return raw, off, d, nil
}
