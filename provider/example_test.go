package provider_test

import (
	"fmt"

	"github.com/wireredis/wireredis/provider"
)

func ExampleLoadFrom() {
	base, err := provider.LoadFrom([]string{
		"REDIS_URL=redis://app:s3cret@redis.internal:6379/0",
		"REDIS_ANALYTICS_DB=1",
	})
	if err != nil {
		panic(err)
	}
	analytics, err := base.ForPart("analytics")
	if err != nil {
		panic(err)
	}
	session, _ := base.ForPart("session")
	fmt.Println(analytics)
	fmt.Println("session shares the base connection:", session.Fingerprint() == base.Fingerprint())
	fmt.Println("analytics shares it:", analytics.Fingerprint() == base.Fingerprint())
	// Output:
	// addr=redis.internal:6379 db=1 user=app password=[redacted] tls=false resp=3 dial_timeout=5s ping_timeout=5s part=analytics
	// session shares the base connection: true
	// analytics shares it: false
}

func ExampleLoadFrom_error() {
	_, err := provider.LoadFrom([]string{"REDIS_HOST=redis.internal", "REDIS_PORT=six"})
	fmt.Println(err)
	// Output:
	// wireredis: REDIS_PORT="six": is not a whole number
}
