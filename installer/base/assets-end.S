/* The end of the assets table: see assets-begin.S. */
        .pushsection .data.rel.ro.dind_assets,"aw"
        .quad 0, 0, 0
        .popsection
        .section .note.GNU-stack,"",%progbits
