# The failpoint build: deliberate bugs (raft's failpoints::Bugs, the Mvcc's
# failpoints::PreviewTxn, node's failpoints::SimBugs) exist only in code
# compiled with KEEL_FAILPOINTS=1, so no release binary holds code that can
# break safety on purpose (doc/failpoints.md).
#
# One build directory holds both builds of the few libraries that differ:
# keel_library(NAME FAILPOINT_TWIN ...) also creates NAME_fp from the same
# sources, compiled with KEEL_FAILPOINTS=1 as a PUBLIC definition and linking
# the _fp twin of each dependency that has one. keel-sim, its scenarios and
# the tests that inject bugs link the _fp twins; everything else links the
# release libraries.
#
# A program that linked both NAME and NAME_fp would hold two layouts of the
# same types (raft::Config has a `bugs` member in one and not the other): an
# ODR violation the linker does not report. keel_check_failpoint_links(),
# called once at the end of the top-level CMakeLists.txt, refuses to
# configure such a target, and any target marked keel_release_only() that
# links an _fp twin at all. Headers whose layout differs also carry
# KEEL_FAILPOINT_BUILD_TAG (runtime/failpoints.h), which turns a mixed
# translation unit the link graph cannot see (one that includes the header
# without linking its library) into an undefined symbol at link time.

define_property(GLOBAL PROPERTY KEEL_FAILPOINT_TWINS
  BRIEF_DOCS "Libraries declared with FAILPOINT_TWIN (each has a NAME_fp twin)"
  FULL_DOCS "See cmake/failpoints.cmake.")
define_property(TARGET PROPERTY KEEL_RELEASE_ONLY
  BRIEF_DOCS "The target must not link any failpoint twin"
  FULL_DOCS "See cmake/failpoints.cmake.")

# keel_failpoint_deps(OUT dep...): the deps with each twinned library
# replaced by its _fp twin.
function(keel_failpoint_deps out)
  get_property(twins GLOBAL PROPERTY KEEL_FAILPOINT_TWINS)
  set(mapped)
  foreach(dep IN LISTS ARGN)
    if(dep IN_LIST twins)
      list(APPEND mapped ${dep}_fp)
    else()
      list(APPEND mapped ${dep})
    endif()
  endforeach()
  set(${out} ${mapped} PARENT_SCOPE)
endfunction()

# Records that `name` has a twin `name`_fp and gives the twin its define.
function(keel_register_failpoint_twin name)
  target_compile_definitions(${name}_fp PUBLIC KEEL_FAILPOINTS=1)
  set_property(GLOBAL APPEND PROPERTY KEEL_FAILPOINT_TWINS ${name})
endfunction()

# keel_release_only(target...): release programs (tools/keel and the other
# shipped tools): configuring fails if one links any failpoint twin.
function(keel_release_only)
  foreach(target IN LISTS ARGN)
    set_property(TARGET ${target} PROPERTY KEEL_RELEASE_ONLY TRUE)
  endforeach()
endfunction()

# Every target defined in `dir` and below.
function(_keel_targets_under dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    _keel_targets_under(${subdir} more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# The targets `target` links, directly or through other non-imported
# targets (imported ones, absl:: and friends, cannot be twins).
function(_keel_link_closure target out)
  set(seen)
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue current)
    if(current IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${current})
    get_target_property(imported ${current} IMPORTED)
    if(imported)
      continue()
    endif()
    get_target_property(type ${current} TYPE)
    set(links)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${current} LINK_LIBRARIES)
      if(direct)
        list(APPEND links ${direct})
      endif()
    endif()
    get_target_property(interface ${current} INTERFACE_LINK_LIBRARIES)
    if(interface)
      list(APPEND links ${interface})
    endif()
    foreach(link IN LISTS links)
      # $<LINK_ONLY:x> is how CMake records a static library's private deps.
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" link "${link}")
      if(link MATCHES "^\\$<" OR NOT TARGET ${link})
        continue()
      endif()
      get_target_property(aliased ${link} ALIASED_TARGET)
      if(aliased)
        set(link ${aliased})
      endif()
      list(APPEND queue ${link})
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Fails configuration if any target links both NAME and NAME_fp, or a
# keel_release_only() target links any NAME_fp.
function(keel_check_failpoint_links)
  get_property(twins GLOBAL PROPERTY KEEL_FAILPOINT_TWINS)
  _keel_targets_under(${CMAKE_SOURCE_DIR} targets)
  set(errors)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "UTILITY")
      continue()
    endif()
    _keel_link_closure(${target} closure)
    get_target_property(release_only ${target} KEEL_RELEASE_ONLY)
    foreach(twin IN LISTS twins)
      if(NOT ${twin}_fp IN_LIST closure)
        continue()
      endif()
      if(twin IN_LIST closure)
        list(APPEND errors
          "${target} links both ${twin} and ${twin}_fp: one program would hold two layouts of ${twin}'s types. Link the _fp twins throughout (a library between them needs FAILPOINT_TWIN) or none.")
      endif()
      if(release_only)
        list(APPEND errors
          "${target} is release-only (keel_release_only) but links ${twin}_fp: a release binary holds no failpoint code.")
      endif()
    endforeach()
  endforeach()
  if(errors)
    list(JOIN errors "\n  " text)
    message(FATAL_ERROR "failpoint build mixed with the release build:\n  ${text}")
  endif()
endfunction()
