package seed

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/transform"

	"github.com/alumnid/alumnid/internal/alumni"
)

// Pair is a planted duplicate: the record Duplicate is the person of Original entered a second
// time, with the differences Variation names. A run's pairs are the truth that a duplicate
// finder's precision and recall are measured against.
type Pair struct {
	Original, Duplicate string // public ids
	Variation           string
}

// The variations of a planted duplicate: how the same person comes to be entered twice (an
// event sign-up, the registrar's import, an admissions record) and what the two records still
// share. Each is a reason a duplicate finder should know.
const (
	VarEmail         = "email"          // the same address as written differently: case, a +tag, gmail's dots
	VarPhone         = "phone"          // the same number in another format, with a name typo
	VarStudentID     = "student-id"     // the same student id in another format (case, a dash)
	VarLinkedIn      = "linkedin"       // the same LinkedIn profile URL written differently
	VarNickname      = "nickname"       // a short form of the first name, the same last name and class year
	VarTypo          = "typo"           // one letter wrong in the last name, the same first name and class year
	VarTransliterate = "transliterated" // accents written out or dropped (Müller → Mueller), the same class year
	VarSwapped       = "swapped"        // first and last name swapped, the same email as written differently
	VarNameYear      = "name-year"      // nothing shared but the name and the class year
)

var variations = []string{VarEmail, VarPhone, VarStudentID, VarLinkedIn, VarNickname, VarTypo, VarTransliterate, VarSwapped, VarNameYear}

// nicknames are short forms of first names of the name pools.
var nicknames = map[string]string{
	"James": "Jim", "Robert": "Bob", "Patricia": "Pat", "John": "Jack", "Jennifer": "Jen", "Michael": "Mike",
	"David": "Dave", "Elizabeth": "Liz", "William": "Bill", "Richard": "Rick", "Susan": "Sue", "Joseph": "Joe",
	"Jessica": "Jess", "Thomas": "Tom", "Christopher": "Chris", "Daniel": "Dan", "Matthew": "Matt",
	"Andrew": "Andy", "Olivia": "Liv", "Katharina": "Kathi", "Maximilian": "Max", "Alejandro": "Alex",
	"Francisco": "Paco", "José": "Pepe", "Oluwaseun": "Seun", "Chinedu": "Chi", "Aditya": "Adi",
}

// duplicate returns the fields of a second record of the person of orig, entered again with
// variation: a sparse record, as an event sign-up or another office's list gives it.
func (g *Generator) duplicate(orig alumni.Fields, variation string) alumni.Fields {
	f := alumni.Fields{FirstName: orig.FirstName, LastName: orig.LastName, Status: alumni.StatusActive}
	// The class year, as a degree, for the variations that rest on it.
	withYear := func() {
		if len(orig.Degrees) > 0 {
			d := orig.Degrees[0]
			f.Degrees = []alumni.Degree{{Degree: d.Degree, Program: d.Program, Faculty: d.Faculty, GraduationYear: d.GraduationYear, Primary: true}}
		}
	}
	switch variation {
	case VarEmail:
		f.Email = g.emailVariant(orig.Email)
		if g.chance(0.5) {
			f.FirstName = g.nickname(orig.FirstName)
		}
	case VarPhone:
		f.Phone = phoneVariant(orig.Phone)
		f.LastName = g.typo(orig.LastName)
	case VarStudentID:
		f.StudentID = studentIDVariant(orig.StudentID)
		withYear()
	case VarLinkedIn:
		f.LinkedInURL = linkedInVariant(orig.LinkedInURL)
		f.Employment = orig.Employment
	case VarNickname:
		f.FirstName = g.nickname(orig.FirstName)
		withYear()
	case VarTypo:
		f.LastName = g.typo(orig.LastName)
		withYear()
	case VarTransliterate:
		f.FirstName, f.LastName = transliterate(orig.FirstName), transliterate(orig.LastName)
		withYear()
	case VarSwapped:
		f.FirstName, f.LastName = orig.LastName, orig.FirstName
		f.Email = g.emailVariant(orig.Email)
	case VarNameYear:
		withYear()
		f.Address = alumni.Address{City: orig.Address.City, Country: orig.Address.Country}
	}
	return f
}

// variationFor returns a variation the original's fields allow.
func (g *Generator) variationFor(orig alumni.Fields) string {
	for {
		v := oneOf(g.rnd, variations)
		switch {
		case (v == VarEmail || v == VarSwapped) && orig.Email == "",
			v == VarPhone && orig.Phone == "",
			v == VarStudentID && orig.StudentID == "",
			v == VarLinkedIn && orig.LinkedInURL == "",
			v == VarNickname && nicknames[orig.FirstName] == "",
			v == VarTransliterate && transliterate(orig.FirstName)+transliterate(orig.LastName) == orig.FirstName+orig.LastName,
			(v == VarNickname || v == VarTypo || v == VarTransliterate || v == VarNameYear || v == VarStudentID) && len(orig.Degrees) == 0:
			continue
		}
		return v
	}
}

// emailVariant writes address differently, as people do: in capitals, with a +tag, and (at
// gmail.com) without its dots. Each compares unequal to address in the database (which
// ignores case only), and the same after the normalisation a duplicate finder applies.
func (g *Generator) emailVariant(address string) string {
	local, domain, _ := strings.Cut(address, "@")
	switch g.rnd.IntN(3) {
	case 0:
		return local + "+events@" + domain
	case 1:
		return strings.ToUpper(local[:1]) + local[1:] + "+alumni@" + strings.ToUpper(domain)
	}
	if strings.EqualFold(domain, "gmail.com") { // where dots do not count
		local = strings.ReplaceAll(local, ".", "")
	}
	return local + "+reunion@" + domain
}

// phoneVariant writes "+1 555 123 4567" as "(555) 123-4567".
func phoneVariant(phone string) string {
	p := strings.Fields(strings.TrimPrefix(phone, "+1 "))
	if len(p) != 3 {
		return phone
	}
	return fmt.Sprintf("(%s) %s-%s", p[0], p[1], p[2])
}

// studentIDVariant writes "S20010000123" as "s2001-0000123".
func studentIDVariant(id string) string {
	if len(id) < 6 {
		return strings.ToLower(id) + "-0"
	}
	return strings.ToLower(id[:5]) + "-" + id[5:]
}

// linkedInVariant writes "https://www.linkedin.com/in/ada-king-7" as
// "http://linkedin.com/in/Ada-King-7/".
func linkedInVariant(url string) string {
	_, path, ok := strings.Cut(url, "linkedin.com/in/")
	if !ok {
		return url
	}
	parts := strings.Split(path, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return "http://linkedin.com/in/" + strings.Join(parts, "-") + "/"
}

func (g *Generator) nickname(first string) string {
	if n := nicknames[first]; n != "" {
		return n
	}
	return first
}

// typo changes one letter of name (not the first): a swap of two neighbours or another letter.
func (g *Generator) typo(name string) string {
	r := []rune(name)
	if len(r) < 3 {
		return name + "e"
	}
	i := 1 + g.rnd.IntN(len(r)-2)
	if g.chance(0.5) && r[i] != r[i+1] {
		r[i], r[i+1] = r[i+1], r[i]
	} else {
		r[i] = oneOf(g.rnd, []rune("aeiouynrst"))
		if string(r) == name {
			r[i] = 'x'
		}
	}
	return string(r)
}

// transliterate writes a name's accents out as German does (ü → ue) or drops them.
func transliterate(name string) string {
	out := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "ß", "ss").Replace(name)
	if out == name {
		out, _, _ = transform.String(stripMarks(), name)
	}
	if !utf8.ValidString(out) {
		return name
	}
	return out
}
