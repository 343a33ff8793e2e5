# evs-bench-redis: the Redis rows of the benchmark (bench/redis_bench.c).
# Include this file from bench/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/redis_bench.cmake)
# Built only when libevstore has the Redis store (hiredis found).  At run
# time it starts its own redis-server, or prints a skip line without one.
if(HIREDIS_FOUND AND NOT TARGET evs-bench-redis)
  add_executable(evs-bench-redis
    ${CMAKE_CURRENT_LIST_DIR}/redis_bench.c
    ${CMAKE_CURRENT_LIST_DIR}/hist.c
    ${PROJECT_SOURCE_DIR}/tests/redis_harness.c)
  target_include_directories(evs-bench-redis PRIVATE
    ${CMAKE_CURRENT_LIST_DIR} ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(evs-bench-redis PRIVATE ${EVS_WARNINGS})
  target_compile_definitions(evs-bench-redis PRIVATE _GNU_SOURCE)
  target_link_libraries(evs-bench-redis PRIVATE evstore::evstore
    PkgConfig::HIREDIS Threads::Threads m)
  if("src/caching.c" IN_LIST EVS_SOURCES)
    target_compile_definitions(evs-bench-redis PRIVATE EVS_BENCH_HAVE_CACHING=1)
  endif()
endif()
