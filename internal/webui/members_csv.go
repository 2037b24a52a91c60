package webui

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// CSV format of export and import: a header line, then one row per
// (address, role):
//
//	address,display_name,role,delivery,moderation
//
// A cell that a spreadsheet would run as a formula (starting with = + - @,
// tab or carriage return) is written with a leading ' which import strips.
var csvHeader = [...]string{"address", "display_name", "role", "delivery", "moderation"}

// maxImport is the largest CSV file import reads.
const maxImport = 32 << 20

func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvUncell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// membersCSV streams every member row of the list (or of ?role=) as CSV,
// a page of 1,000 at a time.
func (u *UI) membersCSV(w http.ResponseWriter, r *http.Request, a *access) {
	ctx, list := r.Context(), a.List.Address()
	role := lists.Role(r.URL.Query().Get("role"))
	if role != "" && !role.Valid() {
		role = ""
	}
	page, err := u.o.Lists.Members(ctx, list, lists.MemberQuery{Role: role, Limit: 1000})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(list, `"`, "")+`-members.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	rc := http.NewResponseController(w)
	_ = cw.Write(csvHeader[:])
	rows := 0
	for {
		for _, m := range page.Members {
			mod := ""
			if m.Moderation != nil {
				mod = string(*m.Moderation)
			}
			_ = cw.Write([]string{csvCell(m.Address), csvCell(m.DisplayName), string(m.Role), string(m.Delivery), mod})
		}
		rows += len(page.Members)
		cw.Flush()
		if err := cw.Error(); err != nil {
			return // the reader went away
		}
		_ = rc.Flush()
		if page.Next == "" {
			break
		}
		if page, err = u.o.Lists.Members(ctx, list, lists.MemberQuery{Role: role, After: page.Next, Limit: 1000}); err != nil {
			// Headers are sent: the truncated file is the only signal left.
			u.log.Error("webui: member export failed", errAttr(err))
			return
		}
	}
	u.audit(ctx, AuditEntry{Actor: a.Email(), Action: "members.export", List: list, Detail: fmt.Sprintf("%d rows", rows)})
}

// membersImport adds the rows of an uploaded CSV file (see csvHeader; a
// file without the header line is read in that column order).
func (u *UI) membersImport(w http.ResponseWriter, r *http.Request, a *access) {
	r.Body = http.MaxBytesReader(w, r.Body, maxImport)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Send a CSV file of at most 32 MB in the file field.")
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Choose a CSV file to import.")
		return
	}
	defer f.Close()
	d := bulkData{A: a, What: "Imported"}
	nms, err := readMembersCSV(f, &d)
	if err != nil {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "The file is not valid CSV: "+err.Error())
		return
	}
	if err := u.addMembers(r, a, nms, &d); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r.Context(), AuditEntry{Actor: a.Email(), Action: "members.import", List: a.List.Address(),
		Detail: fmt.Sprintf("%d added, %d already there, %d refused", d.Done, d.Existing, len(d.Problems)+d.More)})
	u.render(w, r, http.StatusOK, "Import members", nav(a, "Members"), "bulk", d)
}

// readMembersCSV parses the rows; malformed rows are counted into d.
func readMembersCSV(in io.Reader, d *bulkData) ([]lists.NewMember, error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	col := map[string]int{}
	for i, h := range csvHeader {
		col[h] = i
	}
	var out []lists.NewMember
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff")), "address") {
			col = map[string]int{}
			for i, h := range rec {
				col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
			}
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return csvUncell(strings.TrimSpace(rec[i]))
			}
			return ""
		}
		nm := lists.NewMember{Address: get("address"), DisplayName: get("display_name"),
			Role: lists.Role(get("role")), Delivery: lists.Delivery(get("delivery"))}
		if nm.Address == "" {
			continue
		}
		if m := get("moderation"); m != "" {
			act, err := lists.ParseAction(m)
			if err != nil {
				d.problem(fmt.Sprintf("line %d: %s: unknown moderation %q", line, nm.Address, m))
				continue
			}
			nm.Moderation = &act
		}
		out = append(out, nm)
	}
}
