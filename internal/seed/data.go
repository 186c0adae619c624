package seed

// The lists below shape the synthetic population: a mid-sized university in the United
// States whose alumni mostly stay in the country, with a long tail abroad.

type culture struct {
	first []string
	last  []string
}

// cultures are name pools; weights in cultureWeights. Accented names are deliberate: search,
// sorting and exports must handle them.
var cultures = []culture{
	{ // English-speaking
		first: []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen", "Daniel", "Emily", "Matthew", "Ashley", "Andrew", "Olivia", "Ryan", "Hannah", "Zoë", "Liam"},
		last:  []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "O'Brien", "McAllister"},
	},
	{ // Spanish-speaking
		first: []string{"María", "José", "Juan", "Ana", "Luis", "Carmen", "Carlos", "Lucía", "Jorge", "Sofía", "Miguel", "Valentina", "Andrés", "Camila", "Javier", "Isabel", "Diego", "Elena"},
		last:  []string{"García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Núñez", "Ibáñez"},
	},
	{ // German-speaking
		first: []string{"Lukas", "Anna", "Jonas", "Lena", "Felix", "Marie", "Maximilian", "Sophie", "Paul", "Jürgen", "Katharina", "Stefan", "Jörg", "Brigitte"},
		last:  []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Größer"},
	},
	{ // Chinese
		first: []string{"Wei", "Fang", "Jing", "Lei", "Min", "Hui", "Yan", "Jun", "Xiu", "Tao", "Li", "Ming"},
		last:  []string{"Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"},
	},
	{ // Indian
		first: []string{"Aarav", "Priya", "Rahul", "Ananya", "Vikram", "Kavya", "Arjun", "Deepika", "Rohan", "Sneha", "Aditya", "Meera"},
		last:  []string{"Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta", "Joshi", "Rao", "Chatterjee"},
	},
	{ // French-speaking
		first: []string{"Jean", "Marie", "Pierre", "Camille", "Louis", "Chloé", "Hugo", "Léa", "François", "Amélie", "Théo", "Inès"},
		last:  []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre", "Moreau", "Girard", "Lefebvre"},
	},
	{ // West African
		first: []string{"Chinedu", "Ngozi", "Oluwaseun", "Amara", "Kwame", "Abena", "Emeka", "Folake", "Kofi", "Adaeze"},
		last:  []string{"Okafor", "Adeyemi", "Mensah", "Okonkwo", "Boateng", "Eze", "Nwosu", "Asante", "Balogun", "Owusu"},
	},
	{ // Japanese and Korean
		first: []string{"Haruto", "Yui", "Sota", "Hina", "Minjun", "Seoyeon", "Ren", "Sakura", "Jiho", "Yuna"},
		last:  []string{"Sato", "Suzuki", "Takahashi", "Tanaka", "Kim", "Lee", "Park", "Choi", "Watanabe", "Yamamoto"},
	},
}

var cultureWeights = []int{52, 14, 6, 9, 8, 5, 3, 3}

type place struct {
	city, region, country string
	weight                int
}

// places: two thirds stay in the United States, the rest across 30 countries.
var places = []place{
	{"Boston", "MA", "US", 120}, {"New York", "NY", "US", 110}, {"Cambridge", "MA", "US", 40},
	{"Chicago", "IL", "US", 45}, {"San Francisco", "CA", "US", 45}, {"Los Angeles", "CA", "US", 40},
	{"Seattle", "WA", "US", 30}, {"Austin", "TX", "US", 22}, {"Houston", "TX", "US", 18},
	{"Washington", "DC", "US", 35}, {"Philadelphia", "PA", "US", 20}, {"Atlanta", "GA", "US", 16},
	{"Denver", "CO", "US", 14}, {"Miami", "FL", "US", 12}, {"Portland", "OR", "US", 10},
	{"Minneapolis", "MN", "US", 9}, {"Providence", "RI", "US", 15}, {"Hartford", "CT", "US", 10},
	{"Toronto", "ON", "CA", 18}, {"Vancouver", "BC", "CA", 10}, {"Montréal", "QC", "CA", 8},
	{"London", "England", "GB", 22}, {"Edinburgh", "Scotland", "GB", 5}, {"Dublin", "", "IE", 5},
	{"Berlin", "Berlin", "DE", 8}, {"München", "Bayern", "DE", 6}, {"Zürich", "ZH", "CH", 5},
	{"Paris", "Île-de-France", "FR", 8}, {"Amsterdam", "Noord-Holland", "NL", 5}, {"Madrid", "Madrid", "ES", 5},
	{"Barcelona", "Cataluña", "ES", 4}, {"Stockholm", "", "SE", 3}, {"Milano", "Lombardia", "IT", 3},
	{"Ciudad de México", "CDMX", "MX", 8}, {"São Paulo", "SP", "BR", 6}, {"Bogotá", "", "CO", 4},
	{"Buenos Aires", "", "AR", 3}, {"Santiago", "", "CL", 2},
	{"Shanghai", "Shanghai", "CN", 10}, {"Beijing", "Beijing", "CN", 9}, {"Hong Kong", "", "HK", 6},
	{"Singapore", "", "SG", 7}, {"Tokyo", "Tokyo", "JP", 6}, {"Seoul", "", "KR", 6},
	{"Bengaluru", "Karnataka", "IN", 9}, {"Mumbai", "Maharashtra", "IN", 7}, {"New Delhi", "Delhi", "IN", 5},
	{"Lagos", "Lagos", "NG", 4}, {"Accra", "Greater Accra", "GH", 2}, {"Nairobi", "", "KE", 2},
	{"Sydney", "NSW", "AU", 5}, {"Melbourne", "VIC", "AU", 3}, {"Dubai", "", "AE", 4}, {"Tel Aviv", "", "IL", 3},
}

type faculty struct {
	name     string
	programs []string
	degrees  []string
	weight   int
}

var faculties = []faculty{
	{"School of Business", []string{"Business Administration", "Finance", "Marketing", "Accounting", "Economics"}, []string{"BSc", "BA", "MBA", "MSc"}, 26},
	{"School of Engineering", []string{"Computer Science", "Electrical Engineering", "Mechanical Engineering", "Civil Engineering", "Data Science"}, []string{"BSc", "BEng", "MEng", "MSc", "PhD"}, 24},
	{"Faculty of Arts and Sciences", []string{"Psychology", "History", "English Literature", "Biology", "Mathematics", "Physics", "Chemistry", "Political Science", "Philosophy"}, []string{"BA", "BSc", "MA", "MSc", "PhD"}, 30},
	{"School of Law", []string{"Law"}, []string{"JD", "LLM"}, 6},
	{"School of Medicine", []string{"Medicine", "Public Health", "Nursing"}, []string{"MD", "MPH", "BSN"}, 8},
	{"School of Education", []string{"Education", "Educational Leadership"}, []string{"BA", "MEd", "EdD"}, 6},
}

var industries = []string{
	"Computer Software", "Financial Services", "Higher Education", "Hospital & Health Care", "Management Consulting",
	"Banking", "Law Practice", "Government Administration", "Non-profit Organization Management", "Biotechnology",
	"Marketing and Advertising", "Real Estate", "Telecommunications", "Internet", "Primary/Secondary Education",
	"Pharmaceuticals", "Media Production", "Investment Management", "Civil Engineering", "Research",
}

var industryWeights = []int{16, 12, 9, 9, 7, 6, 5, 5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 1, 1}

var tagPool = []string{"volunteer", "donor", "mentor", "class agent", "reunion 2025", "board", "speaker", "parent", "young alumni council", "athletics"}

var tagWeights = []int{25, 30, 15, 6, 10, 2, 5, 8, 4, 6}

var jobTitles = []string{
	"Software Engineer", "Senior Software Engineer", "Product Manager", "Data Scientist", "Analyst", "Senior Analyst",
	"Consultant", "Manager", "Director", "Vice President", "Associate", "Attorney", "Physician", "Teacher",
	"Professor", "Research Scientist", "Engineer", "Accountant", "Founder", "Chief Executive Officer",
	"Marketing Manager", "Nurse", "Policy Advisor", "Designer", "Operations Manager",
}

var emailDomains = []string{"example.com", "example.org", "example.net"}
