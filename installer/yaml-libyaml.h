/* SPDX-License-Identifier: MIT */
#pragma once

/* libyaml's own <yaml.h>. Our installer/yaml.h shadows it on the -Iinstaller search
 * path, so yaml.c reaches libyaml's header through this one: GCC's #include_next
 * resumes the search after installer/ and finds the system's <yaml.h>. Include it
 * with angle brackets (<yaml-libyaml.h>, so that it is itself found on the search
 * path), and from yaml.c only: nothing else needs libyaml. */
#include_next <yaml.h>
