# SPDX-License-Identifier: Apache-2.0
# ward_embed_text(SRC OUT NAME): writes OUT, a C header declaring `static const char NAME[]`
# with SRC's bytes, at configure time (SRC is a configure dependency, so editing it
# re-runs cmake). For text the binary carries verbatim: the systemd unit that
# `ward service install` writes is the same file the packages ship.
function(ward_embed_text src out name)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
    file(READ ${src} text)
    string(REPLACE "\\" "\\\\" text "${text}")
    string(REPLACE "\"" "\\\"" text "${text}")
    string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
    file(WRITE ${out}.tmp "/* generated from ${src} by cmake/EmbedText.cmake */\n"
                          "static const char ${name}[] =\n    \"${text}\";\n")
    file(COPY_FILE ${out}.tmp ${out} ONLY_IF_DIFFERENT)
    file(REMOVE ${out}.tmp)
endfunction()
