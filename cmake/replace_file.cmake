# Replaces DESTINATION with a copy of SOURCE, atomically, and only when their
# contents differ:
#
#   cmake -DSOURCE=<file> -DDESTINATION=<file> -P replace_file.cmake
#
# Copying over the old file in place would rewrite the pages of a library that
# a running program has mapped, which can crash it. The copy goes to a file
# next to DESTINATION (same file system), which is then renamed over it: a
# program that mapped the old file keeps the old inode. Leaving an identical
# file alone keeps its time stamp, so nothing that links it is relinked.
if(NOT DEFINED SOURCE OR NOT DEFINED DESTINATION)
  message(FATAL_ERROR "usage: cmake -DSOURCE=<file> -DDESTINATION=<file> -P replace_file.cmake")
endif()
if(NOT EXISTS "${SOURCE}")
  message(FATAL_ERROR "${SOURCE} does not exist")
endif()
if(EXISTS "${DESTINATION}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${SOURCE}" "${DESTINATION}"
                  RESULT_VARIABLE _different OUTPUT_QUIET ERROR_QUIET)
  if(_different EQUAL 0)
    return()
  endif()
endif()
set(_temporary "${DESTINATION}.tmp")
execute_process(COMMAND "${CMAKE_COMMAND}" -E copy "${SOURCE}" "${_temporary}" RESULT_VARIABLE _copied)
if(NOT _copied EQUAL 0)
  file(REMOVE "${_temporary}")
  message(FATAL_ERROR "cannot copy ${SOURCE} to ${_temporary}")
endif()
file(RENAME "${_temporary}" "${DESTINATION}")
