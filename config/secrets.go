package config

import (
	"fmt"
	"os"
	"strings"
)

// Secret reads a secret from the environment variable envName or, if fileName is set,
// from that file (relative to the config folder). Errors name the variable or file,
// never the value. Both empty returns "" and no error (the secret is optional).
func (c *Config) Secret(envName, fileName string) (string, error) {
	switch {
	case envName != "":
		v, ok := os.LookupEnv(envName)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("environment variable %s is not set", envName)
		}
		return strings.TrimSpace(v), nil
	case fileName != "":
		b, err := os.ReadFile(c.Path(fileName))
		if err != nil {
			return "", fmt.Errorf("read secret file %s: %w", fileName, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", fileName)
		}
		return v, nil
	}
	return "", nil
}
