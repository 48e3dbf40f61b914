"""IP geolocation evidence: ip2region xdb and mmdb readers, and address-space footprints."""
