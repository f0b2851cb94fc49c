package source

import (
	"math/rand/v2"
	"strings"
	"sync"
)

// Topic is one subject the synthetic generator writes about: its words,
// most frequent first (they are drawn with a Zipf-like distribution, so the
// first words are common and the last rare), its hashtags (without '#') and
// the domains its links point to.
type Topic struct {
	Name     string
	Words    []string
	Hashtags []string
	Domains  []string
}

// topics is the generator's subject matter: BirdWatch's default track
// (docs/birdwatch.md §7) first, then the subjects its UI example and a
// general Twitter sample of December 2014 suggest.
var topics = []Topic{
	{
		Name: "ferguson",
		Words: strings.Fields(`protest police ferguson justice garner brown jury decision march rally
			protesters officer streets peaceful shooting community rights civil nypd chokehold
			indictment wilson michael eric staten island grand verdict arrested demonstrators
			solidarity crowd chant hands lives matter unarmed killing black white race america
			violence cops tonight square highway bridge blocked sit die outrage mayor governor
			department investigation federal prosecutor evidence testimony witnesses families
			mourning vigil candle banner signs students walkout nationwide cities oakland chicago`),
		Hashtags: []string{"Ferguson", "BlackLivesMatter", "ICantBreathe", "EricGarner", "ShutItDown", "HandsUpDontShoot", "MikeBrown"},
		Domains:  []string{"nytimes.com", "cnn.com", "theguardian.com", "washingtonpost.com", "npr.org"},
	},
	{
		Name: "clojure",
		Words: strings.Fields(`clojure clojurescript lisp functional transducers immutable repl macro
			datomic leiningen core.async om reagent react jvm java persistent data structures
			namespace protocol multimethod seq lazy atom ref agent channel go-block transit
			edn hiccup ring compojure component figwheel cider emacs paredit rich hickey cognitect
			conj conference talk slides library release version 1.7 beta alpha spec schema
			pedestal luminus midje test.check generative property reducers keyword vector map`),
		Hashtags: []string{"clojure", "clojurescript", "fp", "lisp", "conj"},
		Domains:  []string{"clojure.org", "github.com", "blog.cognitect.com", "clojars.org", "infoq.com"},
	},
	{
		Name: "jobs",
		Words: strings.Fields(`job jobs hiring java developer engineer senior remote position apply
			team career opportunity salary junior contract fulltime backend frontend fullstack
			spring hibernate microservices architect lead manager recruiter interview resume
			startup company benefits office london berlin york francisco boston seattle austin
			experience skills scala python ruby devops cloud aws docker agile scrum openings
			internship graduate relocation visa equity bonus competitive growing`),
		Hashtags: []string{"jobs", "hiring", "java", "career", "techjobs", "remote"},
		Domains:  []string{"linkedin.com", "stackoverflow.com", "indeed.com", "angel.co", "monster.com"},
	},
	{
		Name: "golang",
		Words: strings.Fields(`golang go goroutine channels concurrency gopher compiler binary static
			interface struct slice package module gofmt vet race detector benchmark profiling
			garbage collector runtime scheduler http server client json proxy docker kubernetes
			etcd cloud tooling generics errors defer panic recover select mutex waitgroup
			context deadline timeout release 1.4 android mobile gophercon meetup talk`),
		Hashtags: []string{"golang", "gophercon", "docker", "devops"},
		Domains:  []string{"golang.org", "blog.golang.org", "github.com", "medium.com"},
	},
	{
		Name: "javascript",
		Words: strings.Fields(`javascript node react angular npm browser css html frontend webpack
			gulp grunt framework library component virtual dom ecmascript es6 promises callback
			async jquery backbone ember express mongodb api rest json chrome firefox safari
			performance bundle minify typescript coffeescript mobile responsive design ui ux
			animation svg canvas webgl d3 chart visualization`),
		Hashtags: []string{"javascript", "reactjs", "nodejs", "webdev", "angularjs", "css"},
		Domains:  []string{"developer.mozilla.org", "npmjs.com", "smashingmagazine.com", "css-tricks.com"},
	},
	{
		Name: "data",
		Words: strings.Fields(`data science machine learning analytics bigdata hadoop spark model
			algorithm statistics python visualization dataset cluster neural network deep
			prediction regression classification training features pipeline streaming kafka
			elasticsearch search index query database sql nosql cassandra redis storage
			dashboard insights metrics experiment research paper nlp sentiment twitter`),
		Hashtags: []string{"bigdata", "datascience", "machinelearning", "analytics", "hadoop"},
		Domains:  []string{"kdnuggets.com", "datascience.com", "spark.apache.org", "arxiv.org"},
	},
	{
		Name: "football",
		Words: strings.Fields(`game goal score team season win match league football soccer player
			coach fans stadium playoff championship victory defeat draw injury transfer striker
			keeper defense offense touchdown quarterback nfl premier arsenal chelsea united
			liverpool barcelona madrid bayern messi ronaldo penalty halftime kickoff weekend
			derby table points title cup final referee`),
		Hashtags: []string{"NFL", "EPL", "football", "soccer", "MNF", "COYG"},
		Domains:  []string{"espn.com", "bbc.co.uk", "nfl.com", "skysports.com"},
	},
	{
		Name: "music",
		Words: strings.Fields(`album song music concert tour listen new video single band singer
			playlist live stage tickets record studio lyrics guitar drums vinyl release
			grammy nominated charts radio spotify soundcloud remix beat hiphop rock pop jazz
			festival acoustic cover fans tonight show amazing voice`),
		Hashtags: []string{"NowPlaying", "music", "newmusic", "Grammys", "tour"},
		Domains:  []string{"spotify.com", "soundcloud.com", "pitchfork.com", "billboard.com", "youtube.com"},
	},
	{
		Name: "holidays",
		Words: strings.Fields(`christmas holiday holidays snow winter gifts family tree santa
			presents shopping eve merry happy cookies dinner travel home weather cold storm
			december vacation lights party season celebrate festive wrapping fireplace hot
			chocolate movie sweater carols new year resolutions countdown`),
		Hashtags: []string{"Christmas", "holidays", "snow", "XmasEve", "NewYear"},
		Domains:  []string{"weather.com", "amazon.com", "etsy.com", "pinterest.com"},
	},
	{
		Name: "movies",
		Words: strings.Fields(`movie film trailer episode series season finale cinema actor actress
			director premiere box office review watch netflix hbo sequel hobbit interstellar
			star wars force awakens marvel avengers oscar nominations screenplay scene spoilers
			binge character plot ending twist sony interview`),
		Hashtags: []string{"StarWars", "TheHobbit", "Interstellar", "Oscars", "Netflix"},
		Domains:  []string{"imdb.com", "variety.com", "rottentomatoes.com", "youtube.com"},
	},
	{
		Name: "food",
		Words: strings.Fields(`coffee pizza breakfast recipe dinner lunch delicious cooking chef
			restaurant burger tacos sushi vegan cake chocolate cookies bread kitchen baking
			homemade healthy salad soup cheese wine beer brunch dessert spicy sweet`),
		Hashtags: []string{"foodie", "coffee", "recipe", "vegan", "yum"},
		Domains:  []string{"allrecipes.com", "foodnetwork.com", "instagram.com", "yelp.com"},
	},
	{
		Name: "startups",
		Words: strings.Fields(`apple google startup funding iphone android app launch product users
			growth investors venture capital series round valuation founder ceo acquisition
			uber airbnb facebook microsoft amazon tesla watch ios update feature privacy
			security hack breach encryption open source platform cloud pricing beta`),
		Hashtags: []string{"startup", "tech", "apple", "android", "vc", "security"},
		Domains:  []string{"techcrunch.com", "theverge.com", "wired.com", "recode.net", "arstechnica.com"},
	},
	{
		Name: "space",
		Words: strings.Fields(`nasa space orion rocket launch mars comet rosetta philae mission
			astronaut station iss orbit planet moon telescope hubble galaxy stars asteroid
			spacex landing test flight satellite science discovery universe solar eclipse`),
		Hashtags: []string{"NASA", "Orion", "Rosetta", "space", "ISS", "SpaceX"},
		Domains:  []string{"nasa.gov", "space.com", "esa.int", "spacex.com"},
	},
	{
		Name: "politics",
		Words: strings.Fields(`obama congress senate president election vote policy bill law
			republicans democrats white house cuba immigration reform torture report cia
			budget shutdown government debate campaign speech statement press conference
			administration midterms governor senator`),
		Hashtags: []string{"tcot", "p2", "Cuba", "TortureReport", "Obama"},
		Domains:  []string{"politico.com", "thehill.com", "foxnews.com", "huffingtonpost.com"},
	},
}

// functionWords are the frequent words of English tweets, most frequent
// first.
var functionWords = strings.Fields(`the to a i and of is in you for on it my this that with be at me
	so we just are have not your all was but out what can like up do if now get about no one
	will when how our from they there more been by an or new today time its go know see day
	love good people great here who got us back still going need really make right want
	think why first last best via much never over after every some would should could`)

// generalWords are frequent content words that belong to no topic.
var generalWords = strings.Fields(`thanks happy amazing awesome morning night tonight tomorrow
	week year world life home work school friends family birthday weekend fun lol omg
	check video photo pic read story news article post blog thread update live watch
	follow retweet share help please sorry finally ready excited proud sad funny crazy
	beautiful perfect true free big little long old young next last whole real hard easy`)

// otherLangWords are function words of the languages the generator uses
// besides English; tweets in those languages mix them with the topic words,
// as much of Twitter does.
var otherLangWords = map[string][]string{
	"es": strings.Fields(`el la de que y en los se del las un por con no una su para es al lo como más`),
	"de": strings.Fields(`der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch`),
	"fr": strings.Fields(`le la de et les des en un une du est pour que dans qui au sur pas plus par avec`),
	"pt": strings.Fields(`o a de que e do da em um para com não uma os no se na por mais as dos como`),
}

// otherLangs are the non-English languages, with their share of tweets in
// per mille; the rest (930‰) are English.
var otherLangs = []struct {
	code     string
	perMille int
}{{"es", 25}, {"de", 12}, {"fr", 12}, {"pt", 11}, {"und", 10}}

// Topics returns the generator's topics, for tests and benchmarks that
// want realistic search terms. The result is a copy.
func Topics() []Topic {
	out := make([]Topic, len(topics))
	for i, t := range topics {
		out[i] = Topic{
			Name:     t.Name,
			Words:    append([]string(nil), t.Words...),
			Hashtags: append([]string(nil), t.Hashtags...),
			Domains:  append([]string(nil), t.Domains...),
		}
	}
	return out
}

// tailWordCount is the size of the long tail of rare words, which gives the
// synthetic vocabulary the many rare terms of a real one.
const tailWordCount = 20000

// tailWords returns the long tail: pronounceable made-up words, the same
// for every generator (a fixed seed), computed once.
var tailWords = sync.OnceValue(func() []string {
	onsets := strings.Fields("b br bl c ch cl cr d dr f fl fr g gl gr h j k l m n p pl pr qu r s sc sh sk sl sm sn sp st str t th tr v w wh z")
	vowels := strings.Fields("a e i o u ai ea ee io oa oo ou y")
	codas := strings.Fields("b ck d ft g k l ll m n nd ng nk nt p r rd rk rn s sh ss st t th x z")
	r := rand.New(rand.NewPCG(0x5ee7, 0x7a11))
	seen := make(map[string]bool, tailWordCount)
	words := make([]string, 0, tailWordCount)
	for len(words) < tailWordCount {
		var b strings.Builder
		for range 2 + r.IntN(2) {
			b.WriteString(onsets[r.IntN(len(onsets))])
			b.WriteString(vowels[r.IntN(len(vowels))])
		}
		b.WriteString(codas[r.IntN(len(codas))])
		w := b.String()
		if !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
})

// Name parts for synthetic users.
var (
	firstNames = strings.Fields(`James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth
		David Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa
		Anthony Betty Mark Margaret Paul Sandra Steven Ashley Andrew Kimberly Kenneth Emily Joshua Donna
		Kevin Michelle Brian Dorothy George Carol Edward Amanda Ronald Melissa Timothy Deborah Jason
		Stephanie Jeffrey Rebecca Ryan Laura Jacob Sharon Gary Cynthia Nicholas Kathleen Eric Amy
		Jonathan Shirley Larry Angela Justin Helen Scott Anna Brandon Brenda Frank Pamela Jane Matthias
		Rich Alex Sam Chris Jordan Taylor Morgan Jamie Casey Riley Ana Lucas Sofia Mateo Lena Jonas`)
	lastNames = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
		Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson
		White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
		Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Doe
		Schmidt Muller Weber Fischer Becker Rossi Bianchi Silva Santos Kim Park Chen Wang Li Zhang
		Novak Kowalski Petrov Jensen Hansen Larsen Berg Lindqvist OBrien Murphy Kelly Walsh Byrne`)
	locations = []string{"", "", "New York, NY", "London", "San Francisco, CA", "Berlin", "Chicago",
		"St. Louis, MO", "Toronto", "Austin, TX", "Seattle, WA", "Hamburg, Germany", "Paris", "Madrid",
		"Boston, MA", "Los Angeles, CA", "Sydney", "Dublin", "Amsterdam", "Portland, OR", "Earth"}
	// brands are accounts with many followers that post about one topic.
	brands = []struct {
		name, screenName string
		topic            int
		followers        int64
	}{
		{"Tech Weekly", "techweekly", 1, 248913},
		{"Clojure News", "clojurenews", 1, 18230},
		{"Golang Weekly", "golangweekly", 3, 41200},
		{"NASA", "nasa", 12, 8200000},
		{"ESPN", "espn", 6, 14100000},
		{"CNN Breaking News", "cnnbrk", 0, 23500000},
		{"Jobs in Tech", "techjobsfeed", 2, 9120},
		{"Data Science Daily", "datasciencedly", 5, 66300},
		{"TechCrunch", "techcrunch", 11, 4300000},
		{"Pitchfork", "pitchfork", 7, 3100000},
	}
)
