/* The embedded assets: a table of { name, data, size } entries, ended by a zero entry.
 * build/assets.S includes this file, one ASSET line per file, then assets-end.S.
 * Each file's data is followed by a NUL byte, so text assets are C strings too. */

        .macro ASSET file
        .pushsection .rodata.dind_assets_data,"a"
.Lname\@:
        .asciz "\file"
        .balign 16
.Ldata\@:
        .incbin "\file"
.Lend\@:
        .byte 0
        .popsection
        .pushsection .data.rel.ro.dind_assets,"aw"
        .balign 8
        .quad .Lname\@, .Ldata\@, .Lend\@ - .Ldata\@
        .popsection
        .endm

        .pushsection .data.rel.ro.dind_assets,"aw"
        .balign 8
        .globl dind_assets
dind_assets:
        .popsection
