#!/usr/bin/perl
# make_geo_mmdb.pl: the browser end-to-end test's geo fixture, a GeoIP2-City .mmdb in which
# the loopback network is a place.
#
# Usage: make_geo_mmdb.pl OUT.mmdb
#
# The browser in tests/e2e/browser.test.js reaches leadedge from 127.0.0.1, with no proxy in
# between, so the fixture maps 127.0.0.0/8 (a reserved network that real databases never
# contain, hence remove_reserved_networks => 0) to Cologne, North Rhine-Westphalia, Germany.
# tests/fixtures/make_mmdb.pl writes the unit tests' databases (documentation ranges only);
# this file uses the same writer, Debian's libmaxmind-db-writer-perl. The test asserts on the
# values written here: change both together. Written to a temporary name, then renamed.
use strict;
use utf8;
use warnings;

use MaxMind::DB::Writer::Tree;

die "usage: make_geo_mmdb.pl OUT.mmdb\n" unless @ARGV == 1;
my $path = $ARGV[0];

my %types = (
    city         => 'map',
    continent    => 'map',
    country      => 'map',
    location     => 'map',
    subdivisions => [ 'array', 'map' ],
    names        => 'map',
    code         => 'utf8_string',
    iso_code     => 'utf8_string',
    geoname_id   => 'uint32',
    latitude     => 'double',
    longitude    => 'double',
    time_zone    => 'utf8_string',
    en           => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 28,
    database_type            => 'GeoIP2-City',
    languages                => ['en'],
    description              => { en => 'leadedge browser e2e fixture (loopback is Cologne)' },
    map_key_type_callback    => sub { $types{ $_[0] } // die "make_geo_mmdb.pl: no type for key $_[0]\n" },
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => 1,
);

my $cologne = {
    continent    => { code => 'EU', geoname_id => 6255148, names => { en => 'Europe' } },
    country      => { iso_code => 'DE', geoname_id => 2921044, names => { en => 'Germany' } },
    subdivisions => [ { iso_code => 'NW', geoname_id => 2861876, names => { en => 'North Rhine-Westphalia' } } ],
    city         => { geoname_id => 2886242, names => { en => 'Cologne' } },
    location     => { latitude => 50.9333, longitude => 6.95, time_zone => 'Europe/Berlin' },
};
$tree->insert_network( '127.0.0.0/8', $cologne );
$tree->insert_network( '::1/128',     $cologne );

my $tmp = "$path.tmp.$$";
open my $fh, '>:raw', $tmp or die "make_geo_mmdb.pl: $tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "make_geo_mmdb.pl: $tmp: $!\n";
rename $tmp, $path or die "make_geo_mmdb.pl: rename $tmp -> $path: $!\n";
