package alumni

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alumnid/alumnid/internal/search"
)

// DuplicateKey is a key that two records of the same person are likely to share however each was
// entered: an identifier in a normal form, or a loose form of the name with the class year.
// A duplicate finder compares records by these (docs/STEWARDSHIP.md).
type DuplicateKey struct {
	Kind string
	Key  string
}

// The kinds of duplicate keys.
const (
	KeyEmail    = "email"    // an address, lower-cased, without +tag (and dots at gmail.com)
	KeyPhone    = "phone"    // the number's digits, without a leading country code 1
	KeyStudent  = "student"  // the student id, upper-cased, letters and digits only
	KeyLinkedIn = "linkedin" // the profile's /in/ name, lower-cased
	KeyName     = "name"     // the loose first and last names (either order) and the class year
	// KeyBlock is the class year, the loose first name and the first letter of the loose last
	// name: the records among which last names are compared letter by letter (a typo).
	KeyBlock = "block"
)

// maxDuplicateKey is the longest key kept (alumni_duplicate_keys.dup_key); a longer one (a
// LinkedIn profile name of hundreds of letters) says nothing a shorter key does not.
const maxDuplicateKey = 300

// DuplicateKeys returns the duplicate keys of a record's fields, each once.
func DuplicateKeys(f Fields) []DuplicateKey {
	var out []DuplicateKey
	add := func(kind, key string) {
		if key != "" && utf8.RuneCountInString(key) <= maxDuplicateKey && !slices.Contains(out, DuplicateKey{kind, key}) {
			out = append(out, DuplicateKey{kind, key})
		}
	}
	add(KeyEmail, EmailKey(f.Email))
	add(KeyEmail, EmailKey(f.WorkEmail))
	add(KeyPhone, PhoneKey(f.Phone))
	add(KeyStudent, StudentKey(f.StudentID))
	add(KeyLinkedIn, LinkedInKey(f.LinkedInURL))
	last := LooseName(f.LastName)
	if year := f.ClassYear(); year != 0 && last != "" {
		y := strconv.Itoa(year)
		for _, first := range FullFirstNames(LooseName(f.FirstName)) {
			a, b := first, last // in either order: names swapped on entry
			if b < a {
				a, b = b, a
			}
			add(KeyName, a+" "+b+" "+y)
			add(KeyBlock, y+" "+first+" "+string([]rune(last)[:1]))
		}
	}
	return out
}

// EmailKey is an address as a duplicate finder compares it: lower-cased, without a +tag, and
// without dots at gmail.com ("" for none or a malformed one).
func EmailKey(address string) string {
	local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(address)), "@")
	if !ok || local == "" || domain == "" {
		return ""
	}
	local, _, _ = strings.Cut(local, "+")
	if domain == "gmail.com" || domain == "googlemail.com" {
		local, domain = strings.ReplaceAll(local, ".", ""), "gmail.com"
	}
	if local == "" {
		return ""
	}
	return local + "@" + domain
}

// PhoneKey is a number's digits, without the country code 1 of an eleven-digit North American
// number ("" for fewer than seven digits).
func PhoneKey(phone string) string {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) < 7 {
		return ""
	}
	return d
}

// StudentKey is a student id upper-cased, its letters and digits only.
func StudentKey(id string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToUpper(r)
		}
		return -1
	}, id)
}

// LinkedInKey is the profile name of a LinkedIn URL (linkedin.com/in/NAME), lower-cased.
func LinkedInKey(u string) string {
	parsed, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return ""
	}
	host := strings.ToLower(parsed.Hostname())
	if host != "linkedin.com" && !strings.HasSuffix(host, ".linkedin.com") {
		return ""
	}
	rest, ok := strings.CutPrefix(strings.ToLower(parsed.Path), "/in/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// looseSpellings are the spellings that write one sound two ways in the names offices hold:
// German umlauts written out (Mueller, Müller) and doubled s.
var looseSpellings = strings.NewReplacer("ae", "a", "oe", "o", "ue", "u", "ss", "s")

// LooseName is a name folded as search folds it (case, accents), letters only, with umlauts
// written out and doubled s taken as the plain letter: Müller, Mueller and MULLER are one.
func LooseName(name string) string {
	folded := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return r
		}
		return -1
	}, search.Fold(name))
	return looseSpellings.Replace(folded)
}

// FullFirstNames returns the full forms of a loose first name that is a common short form
// (bill → william; pat → patricia and patrick), or the name itself ("" → none).
func FullFirstNames(loose string) []string {
	if loose == "" {
		return nil
	}
	if full, ok := shortForms[loose]; ok {
		return full
	}
	return []string{loose}
}

// shortForms are common short forms of first names, by their loose form (LooseName), and the
// loose full names each may stand for.
var shortForms = func() map[string][]string {
	full := map[string][]string{
		"william": {"bill", "billy", "will", "willy"}, "robert": {"bob", "bobby", "rob", "robbie", "bert"},
		"richard": {"rick", "ricky", "dick", "rich"}, "james": {"jim", "jimmy", "jamie"}, "john": {"jack", "johnny"},
		"michael": {"mike", "mikey", "mick"}, "david": {"dave", "davy"}, "joseph": {"joe", "joey"},
		"thomas": {"tom", "tommy"}, "christopher": {"chris", "kit"}, "daniel": {"dan", "danny"},
		"matthew": {"matt"}, "andrew": {"andy", "drew"}, "anthony": {"tony"}, "edward": {"ed", "eddie", "ted"},
		"charles": {"charlie", "chuck"}, "benjamin": {"ben", "benny"}, "samuel": {"sam", "sammy"},
		"alexander": {"alex", "sasha"}, "nicholas": {"nick", "nicky"}, "jonathan": {"jon", "jonny"},
		"stephen": {"steve", "stevie"}, "steven": {"steve"}, "timothy": {"tim", "timmy"}, "patrick": {"pat", "paddy"},
		"gregory": {"greg"}, "jeffrey": {"jeff"}, "kenneth": {"ken", "kenny"}, "ronald": {"ron", "ronnie"},
		"donald": {"don", "donnie"}, "lawrence": {"larry"}, "peter": {"pete"}, "philip": {"phil"}, "albert": {"al", "bert"},
		"elizabeth": {"liz", "lizzie", "beth", "betty", "eliza", "libby"}, "margaret": {"maggie", "peggy", "meg", "marge"},
		"katherine": {"kate", "katie", "kathy", "kat"}, "catherine": {"cathy", "cat", "kate"}, "katharina": {"kathi", "katja"},
		"jennifer": {"jen", "jenny"}, "jessica": {"jess", "jessie"}, "patricia": {"pat", "patty", "trish", "tricia"},
		"susan": {"sue", "susie"}, "deborah": {"deb", "debbie"}, "rebecca": {"becky", "becca"},
		"victoria": {"vicky", "tori"}, "christina": {"chrissy", "tina"}, "barbara": {"barb"}, "olivia": {"liv", "livvy"},
		"abigail": {"abby"}, "samantha": {"sam", "sammie"}, "alexandra": {"alex", "lexi"}, "jacqueline": {"jackie"},
		"maximilian": {"max", "maxi"}, "johannes": {"hans"}, "wolfgang": {"wolf"}, "friedrich": {"fritz"},
		"francisco": {"paco", "pancho"}, "jose": {"pepe"}, "alejandro": {"alejo"}, "guillermo": {"memo"},
		"oluwaseun": {"seun"}, "chinedu": {"chi"}, "oluwadamilare": {"dami"}, "aditya": {"adi"},
	}
	out := map[string][]string{}
	for name, shorts := range full {
		for _, s := range shorts {
			out[LooseName(s)] = append(out[LooseName(s)], LooseName(name))
		}
	}
	for _, names := range out {
		slices.Sort(names) // the same keys in the same order, whatever the map's order
	}
	return out
}()

// scoreInputsChanged reports whether a change from before to after touches what a duplicate
// pair's score reads beside the duplicate keys (duplicates.Score): the student id, the city,
// the employer, the degrees' programs.
func scoreInputsChanged(before, after Fields) bool {
	return before.StudentID != after.StudentID || before.Address.City != after.Address.City ||
		before.Employment.Employer != after.Employment.Employer ||
		!slices.EqualFunc(before.Degrees, after.Degrees, func(a, b Degree) bool { return a.Program == b.Program })
}
