# tcpemu-sim --scenario end to end (ctest tcpemu_sim_scenario_*):
#   same_seed: the same file and seed, run twice, write byte-identical
#              summary.json; another seed writes another
#   validate:  --validate accepts an example and refuses a bad file (exit 2)
#              naming the line and key path
# SIM = the tcpemu-sim binary, FILE = a scenario, OUT = a scratch directory.
file(REMOVE_RECURSE ${OUT})
if(MODE STREQUAL "same_seed")
  foreach(run a b)
    execute_process(COMMAND ${SIM} --scenario ${FILE} --seed 3 --out ${OUT}/${run}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "run ${run} exited ${rc}: ${out}")
    endif()
  endforeach()
  execute_process(COMMAND ${SIM} --scenario ${FILE} --seed 4 --quiet --out ${OUT}/c
                  RESULT_VARIABLE rc)
  file(READ ${OUT}/a/summary.json a)
  file(READ ${OUT}/b/summary.json b)
  file(READ ${OUT}/c/summary.json c)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "the same seed gave different summary.json")
  endif()
  if(a STREQUAL c)
    message(FATAL_ERROR "seeds 3 and 4 gave the same summary.json")
  endif()
  string(FIND "${a}" "\"format\":\"tcpemu-scenario-summary/1\"" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "summary.json has no format tag: ${a}")
  endif()
elseif(MODE STREQUAL "validate")
  execute_process(COMMAND ${SIM} --scenario ${FILE} --validate
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "valid")
    message(FATAL_ERROR "--validate refused ${FILE}: ${rc} ${out}")
  endif()
  file(MAKE_DIRECTORY ${OUT})
  file(WRITE ${OUT}/bad.yaml "duration: 1s\nlinks:\n  - forward: {rate: 10 Mbps}\nsessions: [{workload: {kind: bulk}}]\n")
  execute_process(COMMAND ${SIM} --scenario ${OUT}/bad.yaml --validate
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "line 3, links\\[0\\]\\.forward\\.rate: \"10 Mbps\"")
    message(FATAL_ERROR "a bad file: exit ${rc}, ${err}")
  endif()
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
