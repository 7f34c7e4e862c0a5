# Installable CMake package: find_package(swd REQUIRED) then link swd::swd.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS swd EXPORT swdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/swd DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT swdTargets NAMESPACE swd:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/swd)

configure_package_config_file(cmake/swdConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/swdConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/swd)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/swdConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/swdConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/swdConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/swd)
